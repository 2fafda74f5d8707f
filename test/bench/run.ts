/**
 * `npm run bench [-- FILTER…]`: runs every test/bench/*.bench.ts, each benchmark's contenders
 * alternating (A B A B …, the order rotated each round) after one warm-up run each, and prints one table: median, min, max,
 * peak RSS, and the ratio ours/peer. Results also go to .bench/results.json.
 */
import { readdirSync, writeFileSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { lastCommand, median, type Benchmark, type Contender, type Figures } from './harness.js';

const here = dirname(fileURLToPath(import.meta.url));
const filters = process.argv.slice(2).filter((a) => !a.startsWith('-'));

async function timeOnce(c: Contender, memory: boolean): Promise<{ ms: number; rssMiB?: number }> {
  await c.before?.();
  let peak = 0;
  let timer: NodeJS.Timeout | undefined;
  if (memory) {
    peak = process.memoryUsage.rss();
    timer = setInterval(() => {
      peak = Math.max(peak, process.memoryUsage.rss());
    }, 5);
  }
  lastCommand.peakRssKiB = 0;
  const t0 = process.hrtime.bigint();
  await c.run();
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (timer) clearInterval(timer);
  await c.after?.();
  if (!memory) return { ms };
  // A peer that ran as a child reports its own high-water mark; ours is this process's RSS.
  const rssMiB = lastCommand.peakRssKiB > 0 ? lastCommand.peakRssKiB / 1024 : Math.max(peak, process.memoryUsage.rss()) / 1048576;
  return { ms, rssMiB };
}

function fmt(ms: number): string {
  return ms >= 100 ? ms.toFixed(0) : ms >= 10 ? ms.toFixed(1) : ms.toFixed(3);
}

async function runBenchmark(b: Benchmark): Promise<Figures[]> {
  const contenders = [b.ours, ...b.peers];
  const runs = b.runs ?? 5;
  const memory = b.memory ?? false;
  const times = contenders.map(() => [] as number[]);
  const rss = contenders.map(() => [] as number[]);
  for (const c of contenders) await timeOnce(c, false); // warm-up, not counted
  for (let i = 0; i < runs; i++) {
    // Rotate the order each round (A B C, B C A, C A B …): what one contender leaves behind
    // (page-cache writeback, a peer's exit) then slows each of the others equally often.
    const order = contenders.map((_, k) => (k + i) % contenders.length);
    for (const j of order) {
      const c = contenders[j]!;
      const r = await timeOnce(c, memory);
      times[j]!.push(r.ms);
      if (r.rssMiB !== undefined) rss[j]!.push(r.rssMiB);
    }
  }
  return contenders.map((c, j) => ({
    name: c.name,
    times: times[j]!,
    median: median(times[j]!),
    min: Math.min(...times[j]!),
    max: Math.max(...times[j]!),
    ...(rss[j]!.length ? { peakRssMiB: Math.max(...rss[j]!) } : {}),
  }));
}

async function main(): Promise<void> {
  const files = readdirSync(here)
    .filter((f) => f.endsWith('.bench.ts'))
    .sort();
  const results: Array<{ group: string; name: string; target?: string; figures?: Figures[]; skipped?: string }> = [];
  const lines: string[] = [];
  lines.push('| benchmark | contender | median ms | min ms | max ms | peak RSS MiB | ours/this |');
  lines.push('|---|---|---:|---:|---:|---:|---:|');
  for (const f of files) {
    let benches: Benchmark[];
    try {
      const mod = (await import(pathToFileURL(join(here, f)).href)) as { default: () => Promise<Benchmark[]> | Benchmark[] };
      benches = await mod.default();
    } catch (err) {
      console.error(`${f}: could not prepare: ${(err as Error).message}`);
      continue;
    }
    for (const b of benches) {
      const title = `${b.group}: ${b.name}`;
      if (filters.length && !filters.some((x) => title.toLowerCase().includes(x.toLowerCase()) || f.includes(x))) continue;
      const why = b.unavailable?.();
      if (why) {
        console.error(`skip ${title}: ${why}`);
        results.push({ group: b.group, name: b.name, skipped: why });
        continue;
      }
      console.error(`running ${title} …`);
      try {
        await b.setup?.();
        const figures = await runBenchmark(b);
        const ours = figures[0]!;
        for (const fig of figures) {
          const ratio = fig === ours ? '' : `${(ours.median / fig.median).toFixed(2)}×`;
          lines.push(
            `| ${fig === ours ? title : ''} | ${fig.name} | ${fmt(fig.median)} | ${fmt(fig.min)} | ${fmt(fig.max)} | ${fig.peakRssMiB !== undefined ? fig.peakRssMiB.toFixed(0) : ''} | ${ratio} |`,
          );
        }
        if (b.target) lines.push(`| | target: ${b.target} | | | | | |`);
        results.push({ group: b.group, name: b.name, ...(b.target ? { target: b.target } : {}), figures });
      } catch (err) {
        console.error(`${title} failed: ${(err as Error).stack ?? err}`);
        results.push({ group: b.group, name: b.name, skipped: `failed: ${(err as Error).message}` });
      } finally {
        await b.teardown?.();
      }
    }
  }
  console.log(lines.join('\n'));
  const out = join(process.cwd(), '.bench');
  mkdirSync(out, { recursive: true });
  writeFileSync(join(out, 'results.json'), JSON.stringify(results, null, 2));
}

await main();
