// The shape of the benchmark county, shared by the generator and the load scripts.
export const BENCH_PASSWORD = 'bench-password-1';
export const COUNTY = '320324';
export const TOWNS = 20;
export const VILLAGES_PER_TOWN = 25;
export const townCode = (t: number) => `${COUNTY}${String(101 + t).padStart(3, '0')}`;
export const villageCode = (t: number, v: number) => `${townCode(t)}${String(201 + v).padStart(3, '0')}`;
