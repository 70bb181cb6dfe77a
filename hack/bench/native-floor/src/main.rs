// Strata's ingest data path as native code, for the benchmark only (docs/benchmark.md, "Why ingest >= 2x restic is
// out of reach here"): the same gear-hash chunking (64 KiB / 256 KiB / 1 MiB, table from "strata-gear-v1"), SHA-256
// of every file and every chunk, dedup, 4 MiB frames with the timestamps pulled into a column, zstd level 8 with
// minMatch 6 on an encoder thread, packs written and fsync'd. No manifests, no audit, no metadata: a lower bound.
use sha2::{Digest, Sha256};
use std::collections::HashSet;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::mpsc::sync_channel;
use std::thread;
use std::time::Instant;

const MIN: usize = 64 << 10;
const AVG_BITS: u32 = 18;
const MAX: usize = 1 << 20;
const FRAME: usize = 4 << 20;
const PACK: usize = 16 << 20;

fn gear_table() -> [u32; 256] {
    let mut t = [0u32; 256];
    for block in 0..32 {
        let d = Sha256::digest(format!("strata-gear-v1:{block}").as_bytes());
        for j in 0..8 {
            t[block * 8 + j] =
                u32::from_be_bytes([d[j * 4], d[j * 4 + 1], d[j * 4 + 2], d[j * 4 + 3]]);
        }
    }
    t
}

fn high_mask(bits: u32) -> u32 {
    if bits >= 32 {
        u32::MAX
    } else {
        u32::MAX << (32 - bits)
    }
}

fn cut(data: &[u8], gear: &[u32; 256], mask_s: u32, mask_l: u32) -> usize {
    if data.len() <= MIN {
        return data.len();
    }
    let mut h: u32 = 0;
    let normal_end = data.len().min(1 << AVG_BITS);
    for i in MIN..normal_end {
        h = (h << 1).wrapping_add(gear[data[i] as usize]);
        if h & mask_s == 0 {
            return i + 1;
        }
    }
    let end = data.len().min(MAX);
    for i in normal_end..end {
        h = (h << 1).wrapping_add(gear[data[i] as usize]);
        if h & mask_l == 0 {
            return i + 1;
        }
    }
    end
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            walk(&p, out)
        } else {
            out.push(p)
        }
    }
}

fn digits(b: &[u8]) -> Option<u64> {
    let mut v = 0u64;
    for &c in b {
        if !c.is_ascii_digit() {
            return None;
        }
        v = v * 10 + (c - b'0') as u64;
    }
    Some(v)
}

/// `YYYY-MM-DDTHH:MM:SS[.f{1,9}]Z` at `at`: (end, seconds-ish key, nanoseconds). Field checks as Strata's scanner.
fn timestamp_at(b: &[u8], at: usize) -> Option<(usize, u64, u64)> {
    if at + 20 > b.len()
        || b[at + 4] != b'-'
        || b[at + 7] != b'-'
        || b[at + 10] != b'T'
        || b[at + 13] != b':'
        || b[at + 16] != b':'
    {
        return None;
    }
    let (y, mo, d) = (
        digits(&b[at..at + 4])?,
        digits(&b[at + 5..at + 7])?,
        digits(&b[at + 8..at + 10])?,
    );
    let (h, mi, s) = (
        digits(&b[at + 11..at + 13])?,
        digits(&b[at + 14..at + 16])?,
        digits(&b[at + 17..at + 19])?,
    );
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || s > 59 {
        return None;
    }
    let mut end = at + 19;
    let mut frac = 0u64;
    if b[end] == b'.' {
        let mut i = end + 1;
        while i < b.len() && i - end <= 9 && b[i].is_ascii_digit() {
            frac = frac * 10 + (b[i] - b'0') as u64;
            i += 1;
        }
        if i == end + 1 {
            return None;
        }
        for _ in 0..(9 - (i - end - 1)) {
            frac *= 10;
        }
        end = i;
    }
    if end >= b.len() || b[end] != b'Z' {
        return None;
    }
    Some((
        end + 1,
        ((y * 400 + mo * 31 + d) * 86400) + h * 3600 + mi * 60 + s,
        frac,
    ))
}

fn varint(out: &mut Vec<u8>, v: i64) {
    let mut z = ((v << 1) ^ (v >> 63)) as u64;
    while z >= 128 {
        out.push((z as u8) | 128);
        z >>= 7;
    }
    out.push(z as u8);
}

fn encode_frame(raw: &[u8], z: &mut zstd::bulk::Compressor) -> Vec<u8> {
    let mut text = Vec::with_capacity(raw.len());
    let mut cols = Vec::new();
    let (mut copied, mut i, mut prev) = (0usize, 0usize, 0i64);
    while let Some(p) = memchr_t(raw, i + 10) {
        let at = p - 10;
        if let Some((end, sec, ns)) = timestamp_at(raw, at) {
            text.extend_from_slice(&raw[copied..at]);
            text.push(0);
            let t = (sec as i64) * 1_000_000_000 + ns as i64;
            varint(&mut cols, t - prev);
            prev = t;
            copied = end;
            i = end;
        } else {
            i = at + 1;
        }
    }
    text.extend_from_slice(&raw[copied..]);
    let mut out = z.compress(&cols).unwrap();
    out.extend(z.compress(&text).unwrap());
    out
}

fn memchr_t(b: &[u8], from: usize) -> Option<usize> {
    if from >= b.len() {
        return None;
    }
    b[from..].iter().position(|&c| c == b'T').map(|p| p + from)
}

/// Packs of encoded frames written by one encoder thread; returns the bytes it stored.
fn encode_packs(frames: std::sync::mpsc::Receiver<Vec<u8>>, dir: PathBuf) -> usize {
    let mut z = zstd::bulk::Compressor::new(8).unwrap();
    z.set_parameter(zstd::zstd_safe::CParameter::MinMatch(6))
        .unwrap();
    let (mut pack, mut packs, mut stored) = (Vec::new(), 0, 0usize);
    let mut flush = |pack: &mut Vec<u8>| {
        let id = hex(&Sha256::digest(&pack[..]));
        let mut f = fs::File::create(dir.join(format!("{packs}-{id}"))).unwrap();
        f.write_all(pack).unwrap();
        f.sync_all().unwrap();
        packs += 1;
        pack.clear();
    };
    for frame in frames {
        let encoded = encode_frame(&frame, &mut z);
        stored += encoded.len();
        pack.extend(encoded);
        if pack.len() >= PACK {
            flush(&mut pack);
        }
    }
    if !pack.is_empty() {
        flush(&mut pack);
    }
    stored
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() != 3 {
        eprintln!(
            "usage: native-floor <corpus dir> <output dir>   (ENCODERS=n, default: every core)"
        );
        std::process::exit(2);
    }
    let (src, out_dir) = (PathBuf::from(&args[1]), PathBuf::from(&args[2]));
    let started = Instant::now();
    let threads: usize = std::env::var("ENCODERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| {
            thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(1)
        });
    let (mut senders, mut encoders) = (Vec::new(), Vec::new());
    for t in 0..threads {
        let (tx, rx) = sync_channel::<Vec<u8>>(2);
        let dir = out_dir.join(format!("t{t}"));
        fs::create_dir_all(&dir).unwrap();
        senders.push(tx);
        encoders.push(thread::spawn(move || encode_packs(rx, dir)));
    }
    let gear = gear_table();
    let (mask_s, mask_l) = (high_mask(AVG_BITS + 2), high_mask(AVG_BITS - 2));
    let mut files = Vec::new();
    walk(&src, &mut files);
    let mut seen: HashSet<[u8; 32]> = HashSet::new();
    let mut file_hashes = Vec::with_capacity(files.len());
    let (mut total, mut sent, mut frame) = (0usize, 0usize, Vec::with_capacity(FRAME + MAX));
    for f in &files {
        let data = fs::read(f).unwrap();
        total += data.len();
        file_hashes.push(Sha256::digest(&data));
        let mut off = 0;
        while off < data.len() {
            let n = cut(&data[off..], &gear, mask_s, mask_l);
            let chunk = &data[off..off + n];
            if seen.insert(Sha256::digest(chunk).into()) {
                frame.extend_from_slice(chunk);
                if frame.len() >= FRAME {
                    let full = std::mem::replace(&mut frame, Vec::with_capacity(FRAME + MAX));
                    senders[sent % threads].send(full).unwrap();
                    sent += 1;
                }
            }
            off += n;
        }
    }
    if !frame.is_empty() {
        senders[sent % threads].send(frame).unwrap();
    }
    drop(senders);
    let stored: usize = encoders.into_iter().map(|e| e.join().unwrap()).sum();
    // Printed so the file hashes are used (and so computed), as Strata's manifests use them.
    let files_digest = hex(&Sha256::digest(file_hashes.concat()));
    println!(
        "{{\"files\":{},\"bytes\":{},\"stored\":{},\"ratio\":{:.4},\"seconds\":{:.3},\"encoders\":{},\"filesDigest\":\"{}\"}}",
        files.len(),
        total,
        stored,
        stored as f64 / total as f64,
        started.elapsed().as_secs_f64(),
        threads,
        files_digest
    );
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}
