//! Criterion micro-benchmarks of halo's small hot paths. Run with
//! `cargo bench --bench micro`; each prints throughput.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use halo::money::{allocate_largest_remainder, div_pow10_half_even};

fn money(c: &mut Criterion) {
    let mut g = c.benchmark_group("money");
    let values: Vec<i128> = (0..10_000).map(|i| i * 123_456_789 + 50).collect();
    g.throughput(Throughput::Elements(values.len() as u64));
    g.bench_function("round_half_even_10k", |b| {
        b.iter(|| {
            values
                .iter()
                .map(|v| div_pow10_half_even(black_box(*v), 8))
                .sum::<i128>()
        })
    });
    let weights: Vec<u128> = (1..=12).collect();
    g.throughput(Throughput::Elements(1));
    g.bench_function("largest_remainder_12_parts", |b| {
        b.iter(|| allocate_largest_remainder(black_box(1_234_567), black_box(&weights)))
    });
    g.finish();
}

fn generator(c: &mut Criterion) {
    let scale = halo::generate::scale("small").unwrap();
    let world = halo::generate::world::World::generate(&scale, 7, halo::generate::default_end());
    let fx = world.fx.iter().map(|(d, c, r)| ((*d, *c), *r)).collect();
    let day = halo::generate::traffic::generate_day(&world, &scale, 7, 10, &fx);
    let mut g = c.benchmark_group("generate");
    g.sample_size(10);
    g.throughput(Throughput::Elements(day.sessions.len() as u64));
    g.bench_function("small_day_sessions", |b| {
        b.iter(|| {
            halo::generate::traffic::generate_day(&world, &scale, 7, black_box(10), &fx)
                .sessions
                .len()
        })
    });
    g.finish();
}

fn validation(c: &mut Criterion) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let root = halo::storage::parse_root(dir.path().to_str().unwrap()).unwrap();
    let storage = halo::storage::Storage::new();
    let opts = halo::generate::GenerateOptions {
        out: root.clone(),
        scale: halo::generate::scale("tiny").unwrap(),
        seed: 7,
        end: halo::generate::default_end(),
    };
    rt.block_on(halo::generate::generate(&storage, &opts))
        .unwrap();
    let rows: u64 = rt.block_on(async {
        let ctx = halo::session::session(Default::default()).unwrap();
        let st = tempfile::tempdir().unwrap();
        let l = halo::catalog::load_validated(&ctx, &storage, &root, i64::MAX, st.path())
            .await
            .unwrap();
        l.tables.iter().map(|t| t.counts.rows).sum()
    });
    let mut g = c.benchmark_group("contract");
    g.sample_size(10);
    g.throughput(Throughput::Elements(rows));
    g.bench_function("validate_tiny_all_tables", |b| {
        b.iter(|| {
            rt.block_on(async {
                let ctx = halo::session::session(Default::default()).unwrap();
                let st = tempfile::tempdir().unwrap();
                halo::catalog::load_validated(&ctx, &storage, &root, i64::MAX, st.path())
                    .await
                    .unwrap()
                    .rejected()
            })
        })
    });
    g.finish();
}

criterion_group!(benches, money, generator, validation);
criterion_main!(benches);
