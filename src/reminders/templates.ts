/**
 * Every message text the registry sends, in one place (Chinese; `{name}` placeholders). Messages never carry a
 * person's name, ID number or whereabouts: only what the recipient needs to act.
 */
export const TEMPLATES = {
  REPORT_DUE_SOON: '【{county}乡情连心】您好！您{period}的情况报告请于{dueOn}前报送村干部（电话、短信或当面均可）。如工作、住址或电话有变化，请一并告知。',
  REPORT_OVERDUE: '【{county}乡情连心】您好！您{period}的情况报告已于{dueOn}到期，尚未收到。请尽快与村干部联系报送，谢谢。',
  RATING_INVITATION: '【{county}乡情连心】请为村干部{period}的服务打分（匿名，仅限一次）：{link}',
  OVERDUE_SUMMARY: '本村有{count}名外出人员的情况报告已逾期，请登录乡情连心系统查看“逾期报告”并及时联系。',
  INQUIRY_DUE_SOON: '有一件协查将于{dueOn}到期，请及时答复（协查编号 {inquiryId}）。',
  QUARTERLY_WARNING: '{quarter}公开预警已生成：{scope}有{count}个村达到预警线，请登录乡情连心系统查看“季度预警”。',
} as const;

export type TemplateName = keyof typeof TEMPLATES;

/** `2026-Q3` → `2026年第三季度`, `2026-11` → `2026年11月`, `2026-H2` → `2026年下半年`. */
export function periodZh(label: string): string {
  const m = /^(\d{4})-(?:(\d{2})|Q([1-4])|H([12]))$/.exec(label);
  if (!m) return label;
  if (m[2]) return `${m[1]}年${Number(m[2])}月`;
  if (m[3]) return `${m[1]}年第${'一二三四'[Number(m[3]) - 1]}季度`;
  return `${m[1]}年${m[4] === '1' ? '上' : '下'}半年`;
}

/** `2026-10-15` → `10月15日`. */
export function dateZh(iso: string): string {
  return `${Number(iso.slice(5, 7))}月${Number(iso.slice(8, 10))}日`;
}

export function render(name: TemplateName, values: Record<string, string | number>): string {
  return TEMPLATES[name].replace(/\{(\w+)\}/g, (_, key: string) => {
    if (!(key in values)) throw new Error(`template ${name} needs {${key}}`);
    return String(values[key]);
  });
}
