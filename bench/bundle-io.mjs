// Benchmark 3: bundle write then read, 1 GiB of float32.
// Bundle.fromVariables with one 268,435,456-element Float32Array on dims [time, lat, lon] =
// [1024, 512, 512]; writeBundle to a fresh folder, then readBundle back (checked), against `cp` of
// a 1 GiB file holding the same bytes, in the same run. `cp` reads 1 GiB and writes 1 GiB; a write
// then a read of the bundle also moves 1 GiB each way. Ratio = cp time / (write + read time);
// target >= 0.7x. 5 rounds (after an uncounted warm-up), medians: other processes share the disk.
import { rmSync } from "node:fs";
import { open, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { readBundle, writeBundle } from "@maelstrom/core";
import { bytesRow, checkTemperature, dropCaches, machineFacts, median, now, ratio, recordSection, rotatingRounds, scratch, settle, sums, table, timeSpawn, temperatureData, TEMPERATURE } from "./lib.mjs";

const { shape: SHAPE, dims: DIMS, count: COUNT, bytes: BYTES } = TEMPERATURE;
const ROUNDS = 5;
const TARGET = 0.7;

function check(bundle, original) {
  checkTemperature(bundle, original, {
    shape: SHAPE,
    dims: DIMS,
    points: [0, 1, 511, 512 * 512 + 7, 123_456_789, COUNT - 1],
    differs: "the bundle read back differs from the one written",
  });
}

/** readBundle timed, then checked (untimed); the 1 GiB read back is garbage once this returns. */
async function timedRead(dir, original) {
  const started = now();
  const back = await readBundle(dir);
  const elapsed = now() - started;
  check(back, original);
  return elapsed;
}

async function main() {
  const facts = machineFacts();
  const dir = scratch("bundle-io");
  console.log(`bundle-io: 1 GiB float32 [${SHAPE.join(", ")}] in ${dir}`);
  const { data, bundle, raw, copy } = await temperatureData(dir, { shape: SHAPE, dims: DIMS, title: "bench-bundle-io" });
  const canDrop = dropCaches();

  const plain = join(dir, "plain.bin");
  const t = { write: [], readWarm: [], readCold: [], cpWarm: [], cpCold: [], plainWrite: [], plainRead: [], plainReadInto: [], touch: [] };
  // Round 0 is a warm-up, not counted: the first GiB written in a process can be several times slower.
  // Warm: the bundle's bytes are in memory, cp's source file in the page cache (read just before);
  // everything writes into the page cache without fsync; `sync` and a GC (untimed) before each
  // measured command. The three groups run in a different order each round.
  // Each group leaves memory as it found it (what it wrote is deleted), so the order matters little.
  await rotatingRounds(ROUNDS, raw, (keep, round) => {
    const out = join(dir, `bundle-${round}`);
    return [
      async () => {
        settle();
        const started = now();
        await writeBundle(bundle, out);
        keep(t.write, now() - started);
        settle();
        keep(t.readWarm, await timedRead(out, data));
        rmSync(out, { recursive: true, force: true });
      },
      async () => {
        settle();
        keep(t.cpWarm, await timeSpawn("cp", [raw, copy]));
        rmSync(copy, { force: true });
      },
      async () => {
        settle();
        let started = now();
        await writeFile(plain, new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
        keep(t.plainWrite, now() - started);
        settle();
        started = now();
        const back = await readFile(plain);
        keep(t.plainRead, now() - started);
        if (back.length !== BYTES) throw new Error("plain read back the wrong size");
        // The same read into the buffer just filled, whose pages are already mapped: the copy alone.
        settle();
        started = now();
        const handle = await open(plain, "r");
        try {
          for (let offset = 0; offset < BYTES; ) offset += (await handle.read(back, offset, Math.min(BYTES - offset, 64 * 2 ** 20), offset)).bytesRead;
        } finally {
          await handle.close();
        }
        keep(t.plainReadInto, now() - started);
        rmSync(plain, { force: true });
        settle();
        started = now();
        const fresh = new Uint8Array(BYTES);
        for (let i = 0; i < BYTES; i += 4096) fresh[i] = 1;
        keep(t.touch, now() - started);
      },
    ];
  });
  // Cold reads, after the warm rounds: the page cache is dropped before the bundle read and before cp alike.
  if (canDrop) {
    for (let round = 1; round <= ROUNDS; round++) {
      console.log(`  cold read ${round}/${ROUNDS}`);
      const out = join(dir, "bundle-cold");
      await writeBundle(bundle, out);
      settle();
      dropCaches();
      t.readCold.push(await timedRead(out, data));
      rmSync(out, { recursive: true, force: true });
      settle();
      dropCaches();
      t.cpCold.push(await timeSpawn("cp", [raw, copy]));
      rmSync(copy, { force: true });
    }
  }

  // Each round's write + read, then the median over rounds.
  const bundleWarm = median(sums(t.write, t.readWarm));
  const cpWarm = median(t.cpWarm);
  const plainBoth = median(sums(t.plainWrite, t.plainRead));
  const twoCopies = median(sums(t.plainWrite, t.plainReadInto));
  const warmRatio = cpWarm / bundleWarm;
  const met = warmRatio >= TARGET;
  const fastestRatio = Math.min(...t.cpWarm) / Math.min(...sums(t.write, t.readWarm));
  const row = (label, values) => bytesRow(BYTES, label, values);
  const rows = [
    row("**writeBundle** (1 GiB from memory into a fresh folder)", t.write),
    row("**readBundle**, warm page cache (the files just written)", t.readWarm),
    row("**write + read**, warm", sums(t.write, t.readWarm)),
    row("`cp raw.bin copy.bin` (peer), source in the page cache: in-kernel copy_file_range, no user buffer", t.cpWarm),
    row("Plain Node, one file: `fs.promises.writeFile` of the same 1 GiB", t.plainWrite),
    row("Plain Node, one file: `fs.promises.readFile` of it (warm) into a fresh Buffer", t.plainRead),
    row("Plain Node write + `readFile` (one file, no bundle format)", sums(t.plainWrite, t.plainRead)),
    row("Plain Node: the same read into that Buffer again (pages already mapped: the copy alone)", t.plainReadInto),
    row("Page-faulting a fresh 1 GiB Uint8Array in (one write per 4 KiB page)", t.touch),
  ];
  const summary = [
    ["**Ratio, warm** = cp time / (write + read time), medians over rounds", `**${ratio(warmRatio)}** (target >= ${TARGET}x: **${met ? "MET" : "MISSED"}**)`],
    ["Same from the fastest round of each (closest to an idle machine)", ratio(fastestRatio)],
    [
      "Limit on this machine: cp / (plain `writeFile` + a read into already-mapped memory), i.e. the two user-space copies any write + read of 1 GiB makes, against cp's one in-kernel copy",
      ratio(cpWarm / twoCopies),
    ],
    ["Maelstrom against that limit: limit time / Maelstrom write + read time (1.00x = at the limit)", ratio(twoCopies / bundleWarm)],
    ["Plain Node write + `readFile` (into a fresh Buffer) / Maelstrom write + read", ratio(plainBoth / bundleWarm)],
  ];
  if (canDrop) {
    const cpCold = median(t.cpCold);
    rows.push(
      row("readBundle, cold (page cache dropped)", t.readCold),
      row("write + cold read", sums(t.write, t.readCold)),
      row("`cp`, cold (page cache dropped)", t.cpCold),
    );
    summary.push(["Ratio, cold reads = cold cp time / (write + cold read time)", ratio(cpCold / median(sums(t.write, t.readCold)))]);
  }
  summary.push(["Read back: dtype, dims, shape and every byte equal to what was written", "yes"]);
  const results = table([`1 GiB float32 [${SHAPE.join(", ")}] (median of ${ROUNDS})`, "Time", "Throughput", "All rounds (s)"], rows);
  const summaryTable = table(["Measure", "Value"], summary);
  const caching =
    "Warm (the target): the bundle is in memory and cp's source file is in the page cache; everything writes into the page cache without fsync; " +
    "`sync` and a full GC run (untimed) right before each measured command, so no earlier write-back or garbage overlaps it; the order of the bundle, cp and the plain-Node groups rotates each round." +
    (canDrop ? " Cold: `sync; echo 3 > /proc/sys/vm/drop_caches` before the bundle read and before cp alike." : " The page cache could not be dropped (not root): no cold figures.") +
    " This VM's balloon device reports freed memory to the host (virtio-balloon free page reporting), so memory freed a few seconds earlier" +
    " (deleted files, dropped caches, garbage-collected buffers) is slow to touch again; this is the main source of the spread between rounds.";
  console.log(`\n### Bundle write then read, 1 GiB float32\n\n${summaryTable}\n\n${results}\n\n${caching}\n`);
  recordSection("bundle-io", {
    facts,
    script: "bundle-io.mjs",
    method: [
      `- Method: \`Bundle.fromVariables\` with one Float32Array of ${COUNT.toLocaleString("en-US")} elements on dims [${DIMS.join(", ")}] = [${SHAPE.join(", ")}];`,
      "  `writeBundle` to a fresh folder (Zarr v2, 64 MiB chunks), then `readBundle` of it; checked byte for byte outside the timing.",
      "  Peer: `cp` of a 1 GiB file with the same bytes. cp reads 1 GiB and writes 1 GiB; write + read of the bundle writes 1 GiB and reads 1 GiB,",
      `  so the ratio cp / (write + read) compares the same bytes moved. ${ROUNDS} rounds after an uncounted warm-up round, medians (of each round's write + read for the sums).`,
      "  References in the same rounds: plain Node writing and reading one 1 GiB file (no bundle format), and page-faulting a fresh 1 GiB array in.",
      `  ${caching}`,
    ],
    parts: [summaryTable, results],
  });
  rmSync(dir, { recursive: true, force: true });
}

await main();
