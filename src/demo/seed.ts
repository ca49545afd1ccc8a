import crypto from 'node:crypto';
import { sql } from 'drizzle-orm';
import { recordDepositComplaint } from '../agreements/complaints';
import { createAgreement, markReturned, signAgreement } from '../agreements/service';
import { createUser } from '../auth/service';
import { addDays, todayIn } from '../calendar';
import type { Deps } from '../deps';
import { listDivisions } from '../jurisdiction/divisions';
import { createLiaison } from '../liaisons/service';
import { makeMobile, makeResidentId } from '../people/fixtures';
import { registerPerson } from '../people/service';
import { people } from '../people/tables';
import { systemCaller } from '../policy/actor';
import { nextPeriod, periodContaining, type Cadence } from '../reports/periods';
import { submitStatusReport } from '../reports/service';

const SURNAMES = ['王', '李', '张', '刘', '陈', '杨', '赵', '黄', '周', '吴', '徐', '孙', '朱', '马', '胡', '郭', '林', '何', '高', '梁'];
const GIVEN = ['伟', '芳', '娜', '敏', '静', '强', '磊', '军', '洋', '勇', '艳', '杰', '娟', '涛', '明', '超', '秀兰', '霞', '平', '刚', '桂英', '建华', '文', '辉'];
const DESTINATIONS = [
  { countyCode: '320506', town: '郭巷街道', employers: ['吴中区某电子厂', '苏州某精密机械公司'] },
  { countyCode: '320508', town: '双塔街道', employers: ['姑苏区某餐饮店', '苏州某物业公司'] },
  { countyCode: '320509', town: '盛泽镇', employers: ['吴江某纺织厂', '盛泽某丝绸公司'] },
  { countyCode: '320213', town: '崇安寺街道', employers: ['无锡某商场', '梁溪区某快递站'] },
  { countyCode: '320214', town: '旺庄街道', employers: ['新吴区某半导体厂', '无锡某汽车零部件厂'] },
  { countyCode: '320412', town: '湖塘镇', employers: ['武进区某建筑公司', '常州某机械厂'] },
];
const CADENCES: Cadence[] = ['QUARTERLY', 'QUARTERLY', 'MONTHLY', 'HALF_YEARLY'];

/** A small deterministic generator, so every demo database looks the same. */
function prng(seed: number) {
  let s = seed >>> 0;
  const next = () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
  return { next, int: (n: number) => Math.floor(next() * n), pick: <T>(xs: readonly T[]) => xs[Math.floor(next() * xs.length)]! };
}

export interface DemoLogin {
  username: string;
  role: string;
  scope: string | null;
  password: string;
}

/**
 * Fills an empty registry with a realistic sample through the ordinary services (so it is validated and audited
 * like real data): demo staff accounts, liaison contacts, about 200 people in four villages with agreements,
 * reports over the past two years, some overdue, some returned home, a deposit complaint.
 */
export async function seedDemo(deps: Deps, opts: { people?: number } = {}): Promise<{ logins: DemoLogin[]; people: number; reports: number }> {
  const [existing] = await deps.db.select({ n: sql<number>`count(*)::int` }).from(people);
  if ((existing?.n ?? 0) > 0) throw new Error('the registry already holds people; the demo seed only fills an empty one');
  const caller = systemCaller('demo-seed');
  const rnd = prng(320324);
  const today = todayIn(deps.config.timeZone);
  const villages = (await listDivisions(deps.db, { level: 'VILLAGE' })).slice(0, 4);
  if (villages.length === 0) throw new Error('no villages loaded');
  const town = villages[0]!.parentCode!;

  const logins: DemoLogin[] = [];
  const account = async (username: string, role: 'VILLAGE_OFFICIAL' | 'TOWN_SUPERVISOR', scope: string, displayName: string) => {
    const password = crypto.randomBytes(12).toString('base64url');
    const u = await createUser(deps, caller, { username, password, role, scope, displayName });
    logins.push({ username, role, scope, password });
    return u;
  };
  const officials = new Map<string, string>();
  for (const v of villages) officials.set(v.code, (await account(`cun-${v.code.slice(-6)}`, 'VILLAGE_OFFICIAL', v.code, `${v.name}村干部`)).id);
  await account(`zhen-${town.slice(-3)}`, 'TOWN_SUPERVISOR', town, '镇政府督查员');

  const liaisons = [];
  for (const [i, d] of DESTINATIONS.slice(0, 4).entries()) {
    liaisons.push(
      await createLiaison(deps, caller, { name: `${SURNAMES[i + 8]}联络员`, organisation: `${d.town}流动人口服务站`, countyCode: d.countyCode, phone: makeMobile(900 + i), role: '联络员' }),
    );
  }

  const total = opts.people ?? 200;
  let reports = 0;
  for (let i = 0; i < total; i++) {
    const village = villages[i % villages.length]!;
    const dest = rnd.pick(DESTINATIONS);
    const birth = `${1968 + rnd.int(35)}${String(1 + rnd.int(12)).padStart(2, '0')}${String(1 + rnd.int(28)).padStart(2, '0')}`;
    const departure = addDays(today, -(30 + rnd.int(700)));
    const liaison = liaisons.find((l) => l.countyCode === dest.countyCode);
    const p = await registerPerson(deps, caller, {
      name: rnd.pick(SURNAMES) + rnd.pick(GIVEN),
      idNumber: makeResidentId('320324', birth, 2 * i + (i % 2)),
      homeVillageCode: village.code,
      phone: makeMobile(10_000 + i * 37),
      currentPlace: { countyCode: dest.countyCode, town: dest.town },
      employer: rnd.pick(dest.employers),
      departureDate: departure,
      liaisonContactId: liaison && rnd.next() < 0.5 ? liaison.id : null,
      dependants:
        rnd.next() < 0.3
          ? [{ relation: rnd.next() < 0.6 ? 'CHILD' : 'GRANDPARENT', ageBand: rnd.next() < 0.6 ? 'AGE_6_11' : 'AGE_70_79', serviceNeeds: rnd.next() < 0.3 ? ['SCHOOL_PLACE'] : [] }]
          : [],
    });
    if (rnd.next() < 0.05) continue; // registered, agreement not yet made
    const cadence = rnd.pick(CADENCES);
    const a = await createAgreement(deps, caller, { personId: p.id, cadence, validFrom: departure, officialUserId: officials.get(village.code)!, sharingCounties: [dest.countyCode] });
    const signedAt = new Date(`${departure}T09:00:00+08:00`);
    await signAgreement(deps, caller, a.id, { side: 'OFFICIAL', method: 'PAPER', scanRef: `DEMO-${i}-O`, signedAt });
    await signAgreement(deps, caller, a.id, { side: 'PERSON', method: i % 3 ? 'PAPER' : 'PHONE', scanRef: `DEMO-${i}-P`, signedAt });
    // Reports for past periods; about one person in seven stops reporting and falls overdue.
    const stopsAfter = rnd.next() < 0.15 ? rnd.int(3) : Infinity;
    let period = periodContaining(cadence, departure);
    for (let n = 0; period.end < today; n++, period = nextPeriod(cadence, period)) {
      if (n >= stopsAfter) break;
      if (rnd.next() < 0.05) continue;
      const arrival = rnd.pick(['PHONE', 'PHONE', 'MESSAGE', 'IN_PERSON', 'LIAISON'] as const);
      const reportedOn = addDays(period.end, -rnd.int(10));
      await submitStatusReport(deps, caller, {
        personId: p.id,
        period: period.label,
        arrival,
        reportedOn: reportedOn > today ? today : reportedOn,
        workStatus: rnd.next() < 0.85 ? 'EMPLOYED' : 'SEEKING',
        needs: rnd.next() < 0.08 ? ['WAGE_ARREARS'] : [],
        liaisonContactId: arrival === 'LIAISON' && liaison ? liaison.id : null,
      });
      reports += 1;
    }
    if (rnd.next() < 0.04) await markReturned(deps, caller, p.id, addDays(today, -rnd.int(20)));
    else if (i === 7) await recordDepositComplaint(deps, caller, a.id, { description: '村里有人以"外出保证金"名义要求交500元，已拒绝。' });
  }
  return { logins, people: total, reports };
}
