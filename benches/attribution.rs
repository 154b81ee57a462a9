//! Attribution benchmark on synthetic journeys with many creator channels.
//!
//! Prints, for 50, 1,000 and 5,000 creators: exact Markov (order 1; order 2
//! with 50 creators) fit
//! time and paths/s, the whole model set (all models, 100 bootstrap
//! replicates) in conversions/s, and, when Python has `ChannelAttribution`,
//! its time on the same aggregated paths as a ratio.
//!
//! `cargo bench --bench attribution`. The nightly job on `large` (journeys
//! built from raw events) is in `--bench e2e`.

use std::io::Write;
use std::time::Instant;

use halo::attribution::path::Interner;
use halo::attribution::{Conversion, Journeys, Model, Settings, Touch, compute, markov};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

const CHANNELS: [&str; 8] = [
    "direct",
    "organic_search",
    "paid_search",
    "organic_social",
    "paid_social",
    "email",
    "referral",
    "other",
];

/// Journeys: `n` people; creator popularity is Zipf-like; 1..8 touches.
fn synth(creators: usize, n: usize, seed: u64) -> Journeys {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut names = Interner::default();
    let mut conversions = Vec::new();
    let mut nulls: std::collections::BTreeMap<Vec<u32>, f64> = Default::default();
    let weights: Vec<f64> = (1..=creators).map(|i| 1.0 / i as f64).collect();
    let total: f64 = weights.iter().sum();
    let cum: Vec<f64> = weights
        .iter()
        .scan(0.0, |s, w| {
            *s += w / total;
            Some(*s)
        })
        .collect();
    for i in 0..n {
        let len = 1 + (rng.random::<f64>().powi(2) * 8.0) as usize;
        let mut path = Vec::with_capacity(len);
        let mut has_creator = false;
        for _ in 0..len {
            let name = if rng.random::<f64>() < 0.35 {
                has_creator = true;
                let u: f64 = rng.random();
                format!(
                    "creator:cr_{:05}",
                    cum.partition_point(|&c| c < u).min(creators - 1)
                )
            } else {
                CHANNELS[rng.random_range(0..CHANNELS.len())].to_string()
            };
            path.push(names.id(&name));
        }
        let p = 0.02 + 0.01 * len as f64 + if has_creator { 0.03 } else { 0.0 };
        if rng.random::<f64>() < p {
            conversions.push(Conversion {
                order_id: format!("o{i:09}"),
                at: 1_000_000_000_000_000,
                date: 0,
                value_minor: rng.random_range(1_000..30_000),
                touches: path
                    .iter()
                    .enumerate()
                    .map(|(k, &c)| Touch {
                        seq: k as i32 + 1,
                        at: 1_000_000_000_000_000 - (len - k) as i64 * 7_200_000_000,
                        id: format!("t{i}-{k}"),
                        kind: "session".into(),
                        channel: c,
                        creator: None,
                        content: None,
                        platform: None,
                        format: None,
                    })
                    .collect(),
            });
        } else {
            *nulls.entry(path).or_default() += 1.0;
        }
    }
    Journeys {
        conversions,
        nulls: nulls.into_iter().collect(),
        channels: names,
    }
}

fn main() {
    for creators in [50usize, 1_000, 5_000] {
        let j = synth(creators, 1_000_000, 7);
        let s = Settings {
            bootstrap: 0,
            ..Settings::default()
        };
        let prepared = halo::attribution::prepare(&j, &s);
        let ones = vec![1.0; j.conversions.len()];
        let counts: Vec<f64> = j.nulls.iter().map(|(_, n)| *n).collect();
        let open = halo::attribution::open_keys(&j, &s);
        let rows = halo::attribution::path_rows(&j, &prepared, &open, &ones, &counts);
        let paths: Vec<markov::PathCount> = rows
            .iter()
            .map(|r| markov::PathCount {
                channels: r
                    .key
                    .iter()
                    .map(|&k| halo::attribution::path::key_channel(k))
                    .collect(),
                conversions: r.conversions,
                value: r.value,
                nulls: r.nulls,
            })
            .collect();
        println!(
            "synthetic: {creators} creators, 1,000,000 journeys, {} conversions, {} distinct paths, {} channels",
            j.conversions.len(),
            rows.len(),
            j.channels.len()
        );
        let mut halo_o1 = 0.0;
        // Order 2 has up to channels^2 states and costs about states^3: only
        // on the small channel set.
        let orders: &[usize] = if creators <= 50 { &[1, 2] } else { &[1] };
        for &order in orders {
            let t = Instant::now();
            let fit = markov::fit(&paths, order, j.channels.len()).expect("fit");
            let secs = t.elapsed().as_secs_f64();
            if order == 1 {
                halo_o1 = secs;
            }
            let states = fit
                .transitions
                .iter()
                .map(|t| &t.0)
                .collect::<std::collections::HashSet<_>>()
                .len();
            println!(
                "  markov_o{order} exact: {secs:.3} s, {:.0} paths/s, {states} states",
                rows.len() as f64 / secs
            );
        }
        for (label, models, boot) in [
            ("all 11 default models, no bootstrap", Model::defaults(), 0),
            (
                "all 11 default models, 100 bootstrap replicates",
                Model::defaults(),
                100,
            ),
        ] {
            let s = Settings {
                models,
                bootstrap: boot,
                ..Settings::default()
            };
            let t = Instant::now();
            let out = compute(&j, &s, 0).expect("compute");
            let secs = t.elapsed().as_secs_f64();
            println!(
                "  {label}: {secs:.2} s, {:.0} conversions/s, {:.0} touches/s ({} summary rows)",
                j.conversions.len() as f64 / secs,
                j.conversions.iter().map(|c| c.touches.len()).sum::<usize>() as f64 / secs,
                out.summary.num_rows()
            );
        }
        // The same aggregated paths through ChannelAttribution, if installed.
        let csv = std::env::temp_dir().join(format!("halo-bench-paths-{creators}.csv"));
        {
            let mut f = std::io::BufWriter::new(std::fs::File::create(&csv).expect("csv"));
            writeln!(f, "path;conv;value;null").unwrap();
            for r in &rows {
                let path: Vec<&str> = r
                    .key
                    .iter()
                    .map(|&k| j.channels.name(halo::attribution::path::key_channel(k)))
                    .collect();
                writeln!(
                    f,
                    "{};{};{:.2};{}",
                    path.join(">"),
                    r.conversions,
                    r.value,
                    r.nulls
                )
                .unwrap();
            }
        }
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/benches/ca_timing.py");
        match std::process::Command::new("python3")
            .arg(script)
            .arg(&csv)
            .output()
        {
            Ok(o) if o.status.success() => {
                let text = String::from_utf8_lossy(&o.stdout);
                let line = text.lines().last().unwrap_or_default();
                let v: serde_json::Value = serde_json::from_str(line).unwrap_or_default();
                let ca = v["markov_o1_s"].as_f64().unwrap_or(f64::NAN);
                println!(
                    "  ChannelAttribution markov_model (Monte Carlo, defaults): {ca:.2} s = {:.1}x halo's exact order-1 fit; heuristic_models {:.2} s",
                    ca / halo_o1,
                    v["heuristics_s"].as_f64().unwrap_or(f64::NAN)
                );
            }
            _ => println!(
                "  ChannelAttribution not available (pip install channelattribution): no ratio"
            ),
        }
        let _ = std::fs::remove_file(&csv);
    }
}
