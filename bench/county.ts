// The shape of the benchmark county, shared by the generator and the load scripts.
export const BENCH_PASSWORD = 'bench-password-1';
export const COUNTY = '320324';
export const TOWNS = 20;
export const VILLAGES_PER_TOWN = 25;
export const townCode = (t: number) => `${COUNTY}${String(101 + t).padStart(3, '0')}`;
export const villageCode = (t: number, v: number) => `${townCode(t)}${String(201 + v).padStart(3, '0')}`;

/** Deterministic per-person randomness: the same person gets the same data on every run. */
export function rand(i: number, salt: number): number {
  let x = Math.imul(i ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(salt + 1, 0xc2b2ae35);
  x ^= x >>> 16;
  x = Math.imul(x, 0x7feb352d);
  x ^= x >>> 15;
  return (x >>> 0) / 4_294_967_296;
}

const SURNAMES = '王李张刘陈杨赵黄周吴徐孙朱马胡郭林何高梁郑罗宋谢唐韩曹许邓萧冯曾程蔡彭潘袁于董余苏叶吕魏蒋田杜丁沈姜范江傅钟卢汪戴崔任陆廖姚方金邱夏谭韦贾邹石熊孟秦阎薛侯雷白龙段郝孔邵史毛常万顾赖武康贺严尹钱施牛洪龚';
const GIVEN = ['伟', '芳', '娜', '敏', '静', '强', '磊', '军', '洋', '勇', '艳', '杰', '娟', '涛', '明', '超', '秀兰', '霞', '平', '刚', '桂英', '建华', '文', '辉', '丽', '鑫', '宇', '浩', '婷', '欣'];

/** The generator's person number i has this name (load scripts name people as the registry does). */
export const personName = (i: number) => SURNAMES[Math.floor(rand(i, 4) * SURNAMES.length)]! + GIVEN[Math.floor(rand(i, 5) * GIVEN.length)]!;
