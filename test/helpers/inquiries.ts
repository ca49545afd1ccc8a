import { eq } from 'drizzle-orm';
import { inquiries } from '../../src/db/schema';
import { inquiryRecordedAt } from './history';
import { agreement, FakePartner, REGISTER } from './partner';
import { BODIES } from './records';
import { nextIdNumber, register } from './registry';
import type { TestServer } from './server';

export const PARTNER = '320506';

/**
 * A partner county (吴中) that sends us inquiries over the real exchange endpoint, and residents to ask about. Figures
 * tests then move an inquiry back in time (partners cannot send one already past due).
 */
export async function partnerInquiries(t: TestServer, adminToken: string) {
  const partner = await FakePartner.start(PARTNER, t.config.countyCode);
  const reg = await t.gql(REGISTER, { input: agreement(partner) }, adminToken);
  if (reg.errors) throw new Error(JSON.stringify(reg.errors));
  const db = t.server.deps.db;

  /** The partner asks about a subject; the inquiry's id here (matched to the resident with that ID number, if any). */
  async function ask(subject: { idNumber: string; name: string }, dueOn: string): Promise<string> {
    const record = partner.record({ type: 'INQUIRY', subject, body: { ...BODIES.INQUIRY, dueOn } });
    const { receipts } = (await partner.pushTo(t.url, [record])).body as { receipts: { id: string }[] };
    const [row] = await db.select({ id: inquiries.id }).from(inquiries).where(eq(inquiries.recordId, receipts[0]!.id));
    if (!row) throw new Error(`no inquiry for ${JSON.stringify(receipts)}`);
    return row.id;
  }

  /** A resident of a village (no agreement, so no report figures), with sharing consent for the partner. */
  async function resident(token: string, village: string) {
    const idNumber = nextIdNumber();
    const p = await register(t, token, { name: '王芳', idNumber, homeVillageCode: village });
    const c = await t.gql(`mutation($p: ID!) { recordConsent(personId: $p, input: { kind: PARTNER_SHARING, scope: "${PARTNER}", method: PAPER }) { kind } }`, { p: p.id }, token);
    if (c.errors) throw new Error(JSON.stringify(c.errors));
    return { id: p.id, subject: { idNumber, name: '王芳' } };
  }

  /** An inquiry the partner sent about `subject`, as if recorded at `recordedAt` and due on `dueOn`. */
  async function pastInquiry(subject: { idNumber: string; name: string }, recordedAt: string, dueOn: string): Promise<string> {
    // sent with a due date the partner may still give (from today on), then moved back
    const id = await ask(subject, new Date(Date.now() + 40 * 86_400_000).toISOString().slice(0, 10));
    await inquiryRecordedAt(db, id, recordedAt, dueOn);
    return id;
  }

  return { partner, ask, resident, pastInquiry, close: () => partner.close() };
}

