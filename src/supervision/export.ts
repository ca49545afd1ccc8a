import { pdfFont } from './font';
import type { QuarterlyWarning, WarningReasonCode } from './warning';

const REASON_ZH: Record<WarningReasonCode, string> = {
  OVERDUE_RATE: '报告逾期率',
  BROKEN_COMMITMENTS: '违背承诺',
  UNANSWERED_INQUIRIES: '逾期未复协查',
};

const COLUMNS = ['村代码', '村名', '在效协议', '应交报告', '按时', '逾期', '逾期率(%)', '督查次数', '违背承诺', '未结押金投诉', '逾期未复协查', '预警原因'] as const;

function rowsOf(w: QuarterlyWarning, names: ReadonlyMap<string, string>): string[][] {
  return w.villages.map(({ figures: f, reasons }) => [
    f.villageCode,
    names.get(f.villageCode) ?? '',
    String(f.activeAgreements),
    String(f.reportsDue),
    String(f.reportsOnTime),
    String(f.reportsOverdue),
    f.overdueRate === null ? '' : f.overdueRate.toFixed(1),
    String(f.checksDone),
    String(f.brokenCommitments),
    String(f.openDepositComplaints),
    String(f.openInquiriesPastDue),
    reasons.map((r) => `${REASON_ZH[r.code]} ${r.value} ≥ ${r.threshold}`).join('；'),
  ]);
}

/** A cell as CSV: quoted when needed, and never read as a formula by a spreadsheet. */
function csvCell(v: string): string {
  const safe = /^[=+\-@\t\r]/.test(v) ? `'${v}` : v;
  return /[",\r\n]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}

/** UTF-8 with a byte-order mark, so spreadsheet programs on Chinese Windows open it as UTF-8. */
export function warningCsv(w: QuarterlyWarning, names: ReadonlyMap<string, string>): string {
  const lines = [[...COLUMNS], ...rowsOf(w, names)].map((r) => r.map(csvCell).join(','));
  return `\uFEFF${lines.join('\r\n')}\r\n`;
}

function quarterZh(label: string): string {
  const [year, q] = label.split('-Q');
  return `${year}年第${'一二三四'[Number(q) - 1]}季度`;
}

/** A printable A4 (landscape) list: title, thresholds, one row per village, definitions in the footer. */
export async function warningPdf(w: QuarterlyWarning, names: ReadonlyMap<string, string>, title: string, fontFile?: string): Promise<Buffer> {
  // Loaded on first use: the PDF library is large and most instances never print. Dated when the list was drawn
  // up, the same list prints to the same bytes.
  const { default: PDFDocument } = await import('pdfkit');
  const doc = new PDFDocument({ size: 'A4', layout: 'landscape', margin: 36, info: { Title: `${title} ${w.window.label}`, Producer: 'hometown-link registry', CreationDate: w.computedAt } });
  const chunks: Buffer[] = [];
  doc.on('data', (c: Buffer) => chunks.push(c));
  const done = new Promise<Buffer>((resolve, reject) => {
    doc.on('end', () => resolve(Buffer.concat(chunks)));
    doc.on('error', reject);
  });
  doc.registerFont('zh', pdfFont(fontFile));
  doc.font('zh');
  doc.fontSize(16).text(`${title}　${quarterZh(w.window.label)}公开预警`, { align: 'center' });
  doc.moveDown(0.5);
  doc.fontSize(9).text(
    `统计期：${w.window.start} 至 ${w.window.end}（以 ${w.window.asOf} 当日及以前登记的事实为准）。预警线：报告逾期率 ≥ ${w.thresholds.overdueRatePercent}%；违背承诺 ≥ ${w.thresholds.brokenCommitments} 次；逾期未复协查 ≥ ${w.thresholds.unansweredInquiries} 件。`,
  );
  doc.moveDown(0.5);
  const widths = [70, 70, 45, 45, 35, 35, 50, 45, 45, 55, 55, 170];
  const table = [[...COLUMNS], ...rowsOf(w, names)];
  if (table.length === 1) table.push(['', '本季度无村达到预警线', '', '', '', '', '', '', '', '', '', '']);
  for (const [i, row] of table.entries()) {
    const y = doc.y;
    const height = Math.max(...row.map((cell, c) => doc.heightOfString(cell, { width: widths[c]! - 4 }))) + 6;
    if (y + height > doc.page.height - doc.page.margins.bottom - 30) doc.addPage();
    const top = doc.y;
    let x = doc.page.margins.left;
    for (const [c, cell] of row.entries()) {
      doc.rect(x, top, widths[c]!, height).stroke();
      doc.fontSize(i === 0 ? 8 : 9).text(cell, x + 2, top + 3, { width: widths[c]! - 4 });
      x += widths[c]!;
    }
    doc.x = doc.page.margins.left;
    doc.y = top + height;
  }
  doc.moveDown(1);
  doc.fontSize(8).text('逾期率 = 统计期内到期的报告中，未在到期日（含）前报送并登记的比例；督查次数、违背承诺按督查日期计；未结押金投诉按统计期末状态计。口径详见 docs/supervision.md。', doc.page.margins.left);
  doc.end();
  return done;
}
