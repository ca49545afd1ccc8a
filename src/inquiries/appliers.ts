import { and, eq } from 'drizzle-orm';
import { appendAudit } from '../audit/service';
import { protocolDate } from '../calendar';
import { RecordRejected, type RecordApplier } from '../exchange/appliers';
import { outboundRecords } from '../exchange/tables';
import { transitionNotice } from '../notices/service';
import { maskIdNumber } from '../people/identity';
import { authorize } from '../policy/policy';
import { matchSubject, requirePersonStatus } from '../sharing/subject';
import { nextInquiryStatus } from './lifecycle';
import { insertInquiry, transitionInquiry } from './service';
import { inquiries } from './tables';

/**
 * A partner's INQUIRY becomes an inquiry to answer, due on its `dueOn`: matched to our resident it is a task for
 * their home village official; matched to a partner's resident here (an incoming notice), or to no one, it is for
 * the county administrators. Unmatched, it stays answerable (UNMATCHED or DECLINED) and can be linked to a person
 * (resolveUnmatchedRecord), which matches the same inquiry.
 */
export const receiveInquiry: RecordApplier<'INQUIRY'> = async (ctx) => {
  const tx = ctx.deps.db;
  const m = await matchSubject(ctx, { notices: true });
  // on receipt the partner; on resolution the person linking it, who must handle inquiries about that person
  if (ctx.linkedPersonId && m.kind === 'person') authorize(ctx.caller.actor, 'inquiry.handle', { villageCode: m.person.homeVillageCode });
  else authorize(ctx.caller.actor, 'inquiry.receive');
  if (m.kind === 'person') requirePersonStatus(m.person, ['AWAY', 'RETURNED']);
  const [existing] = await tx
    .select()
    .from(inquiries)
    .where(and(eq(inquiries.partnerCode, ctx.partner.countyCode), eq(inquiries.direction, 'INBOUND'), eq(inquiries.recordId, ctx.record.id)))
    .for('update');
  const { record } = ctx;
  const inquiry =
    existing ??
    (await insertInquiry(tx, ctx.caller, {
      direction: 'INBOUND',
      partnerCode: ctx.partner.countyCode,
      recordId: record.id,
      subjectName: record.subject.name,
      subjectIdMasked: maskIdNumber(record.subject.idNumber),
      purpose: record.body.purpose,
      question: record.body.question,
      urgency: record.body.urgency,
      issuedOn: protocolDate(new Date(record.iat * 1000)),
      dueOn: record.body.dueOn,
    }));
  const person = m.kind === 'person' ? m.person : null;
  const notice = m.kind === 'notice' ? m.notice : null;
  const matched =
    m.kind === 'none'
      ? await transitionInquiry(tx, ctx.caller, inquiry, 'MARK_UNMATCHED')
      : await transitionInquiry(tx, ctx.caller, inquiry, 'MATCH', {
          personId: person?.id ?? null,
          noticeId: notice?.id ?? null,
          villageCode: person?.homeVillageCode ?? null,
          townCode: person?.homeTownCode ?? null,
        });
  if (notice) await transitionNotice(tx, ctx.caller, notice, 'INQUIRE');
  await appendAudit(tx, ctx.caller, {
    action: existing ? 'inquiry.match' : 'inquiry.receive',
    targetType: 'Inquiry',
    targetId: matched.id,
    details: { partner: ctx.partner.countyCode, recordId: record.id, status: matched.status },
  });
  return m.kind === 'none' ? { state: 'UNMATCHED', reason: m.reason } : { state: 'APPLIED', personId: person?.id ?? null };
};

/**
 * The partner's answer to our inquiry (`ref`): it must be an inquiry we sent to that partner about the same subject,
 * still waiting for an answer; it becomes ANSWERED with the result and answer.
 */
export const receiveInquiryReply: RecordApplier<'INQUIRY_REPLY'> = async (ctx) => {
  const tx = ctx.deps.db;
  authorize(ctx.caller.actor, 'inquiry.receive');
  const { record } = ctx;
  const [found] = await tx
    .select({ inquiry: inquiries, subjectIdHmac: outboundRecords.subjectIdHmac })
    .from(inquiries)
    .innerJoin(outboundRecords, eq(outboundRecords.id, inquiries.recordId))
    .where(and(eq(inquiries.partnerCode, ctx.partner.countyCode), eq(inquiries.direction, 'OUTBOUND'), eq(inquiries.recordId, record.ref!)))
    .for('update', { of: inquiries });
  if (!found || found.inquiry.erasedAt) throw new RecordRejected('UNKNOWN_INQUIRY', `no inquiry ${record.ref} sent to ${ctx.partner.countyCode}`);
  const { inquiry } = found;
  if (found.subjectIdHmac !== ctx.subjectIdHmac) throw new RecordRejected('SUBJECT_MISMATCH', 'the reply names another person than the inquiry');
  if (!nextInquiryStatus(inquiry.direction, inquiry.status, 'RECEIVE_REPLY')) throw new RecordRejected('INQUIRY_NOT_OPEN', `the inquiry is ${inquiry.status}`);
  const answered = await transitionInquiry(tx, ctx.caller, inquiry, 'RECEIVE_REPLY', {
    result: record.body.result,
    answer: record.body.answer,
    replyRecordId: record.id,
    answeredAt: new Date(),
  });
  await appendAudit(tx, ctx.caller, { action: 'inquiry.reply', targetType: 'Inquiry', targetId: answered.id, details: { result: record.body.result, recordId: record.id } });
  return { state: 'APPLIED', personId: inquiry.personId };
};
