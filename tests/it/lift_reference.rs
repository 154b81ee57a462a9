//! The lift's formulas against an independent NumPy implementation (1e-9),
//! and its estimand against a statsmodels Poisson GLM. Fixtures and the
//! script that made them: tests/fixtures/lift/make_reference.py.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use halo::lift::fit::{self, PostAt};
use halo::lift::{Grid, Settings};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/lift")
}

fn read_csv(name: &str) -> Vec<HashMap<String, f64>> {
    crate::common::read_csv(&fixtures().join(name))
        .into_iter()
        .map(|r| {
            r.into_iter()
                .map(|(k, v)| (k, v.parse().unwrap()))
                .collect()
        })
        .collect()
}

/// The settings `make_reference.py` lists in SETTINGS.
fn settings() -> Settings {
    Settings {
        immediate_minutes: 10,
        extended_hours: 1,
        guard_minutes: 5,
        weeks: 2,
        min_weeks: 1,
        smooth_minutes: 5,
        level_minutes: 30,
        level_prior: 30.0,
        outlier_mads: 5.0,
        kernel_half_life_minutes: 8.0,
        kernel_slow_share: 0.3,
        kernel_slow_half_life_hours: 1.0,
        kernel_prior_posts: 5.0,
        refine: 2,
        max_iterations: 30,
        tolerance: 0.0,
        placebos: 30,
        confidence: 0.95,
        ..Settings::default()
    }
}

fn fitted() -> (fit::Fit, Vec<f64>) {
    let y: Vec<f64> = read_csv("series.csv").iter().map(|r| r["y"]).collect();
    let posts: Vec<PostAt> = read_csv("posts.csv")
        .iter()
        .map(|r| PostAt {
            minute: r["minute"] as usize,
            class: r["class"] as usize,
            group: None,
        })
        .collect();
    let grid = Grid::utc(0, y.len(), 1440);
    (fit::fit(&grid, &y, &posts, 2, &settings()), y)
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * b.abs().max(1.0)
}

#[test]
fn lift_matches_the_independent_numpy_reference() {
    let (f, _) = fitted();
    for r in read_csv("baseline.csv") {
        let i = r["minute"] as usize;
        assert!(
            close(f.baseline.b[i], r["baseline"]),
            "baseline at {i}: {} vs {}",
            f.baseline.b[i],
            r["baseline"]
        );
    }
    let mut with_placebos = 0;
    for r in read_csv("reference.csv") {
        let (k, w) = (r["post"] as usize, r["window"] as usize);
        let x = &f.windows[k][w];
        assert!(
            close(f.amplitude[k], r["amplitude"]),
            "post {k}: amplitude {} vs {}",
            f.amplitude[k],
            r["amplitude"]
        );
        for (name, got) in [
            ("observed", x.observed),
            ("baseline", x.baseline),
            ("lift", x.lift),
            ("lift_low", x.lift_low),
            ("lift_high", x.lift_high),
            ("se", x.se),
            ("min_detectable_lift", x.min_detectable_lift),
            ("overlap_share", x.overlap_share),
        ] {
            assert!(
                close(got, r[name]),
                "post {k} window {w}: {name} {got} vs {}",
                r[name]
            );
        }
        // p-values to 1e-9 absolute: a relative 1e-10 in z moves a p of
        // 5e-4 by about 1e-9 of itself
        assert!(
            (x.p_value - r["p_value"]).abs() <= 1e-9,
            "post {k} window {w}: p {} vs {}",
            x.p_value,
            r["p_value"]
        );
        assert_eq!(x.placebos, r["placebos"] as usize);
        with_placebos += usize::from(x.placebos >= fit::MIN_PLACEBOS);
    }
    assert!(
        with_placebos > 0,
        "the fixture must exercise the placebo spread"
    );
}

/// Per-visit probabilities: over a window's visits they add up to the post's
/// (non-negative) lift, the signed shares to the lift itself, and over posts
/// a minute's visits never get more than probability 1.
#[test]
fn visit_probabilities_sum_to_the_lift() {
    let (f, y) = fitted();
    let posts = read_csv("posts.csv");
    for (k, _) in posts.iter().enumerate() {
        for w in 0..2 {
            let p: f64 = (0..y.len())
                .map(|i| y[i] * f.visit_probability(k, i, w))
                .sum();
            let share: f64 = (0..y.len()).map(|i| y[i] * f.visit_share(k, i, w)).sum();
            let lift = f.windows[k][w].lift;
            assert!(
                (p - lift.max(0.0)).abs() <= 1e-9 * lift.abs().max(1.0),
                "post {k} window {w}: {p} vs {lift}"
            );
            assert!(
                (share - lift).abs() <= 1e-9 * lift.abs().max(1.0),
                "post {k} window {w}: {share} vs {lift}"
            );
        }
    }
    let mut checked = 0;
    for i in 0..y.len() {
        let p: f64 = f
            .posts_covering(i)
            .map(|k| f.visit_probability(k, i, 1))
            .sum();
        assert!(p <= 1.0 + 1e-12, "minute {i}: {p}");
        checked += usize::from(p > 0.0);
    }
    assert!(checked > 100);
}

/// halo's immediate-window lift of every isolated post agrees with the
/// Poisson GLM's (window indicator against 15-minute-of-day and day
/// effects) within two of halo's standard errors, and the two rank posts
/// alike.
#[test]
fn lift_agrees_with_a_poisson_glm_on_isolated_posts() {
    let (f, _) = fitted();
    let glm = read_csv("glm.csv");
    assert_eq!(glm.len(), 5, "the reference's five isolated posts");
    let (mut a, mut b) = (Vec::new(), Vec::new());
    for r in &glm {
        let k = r["post"] as usize;
        let x = &f.windows[k][0];
        assert!(
            (x.lift - r["glm_lift"]).abs() <= 2.0 * x.se,
            "post {k}: halo {} ± {} vs GLM {}",
            x.lift,
            x.se,
            r["glm_lift"]
        );
        a.push(x.lift);
        b.push(r["glm_lift"]);
    }
    let n = a.len() as f64;
    let (ma, mb) = (a.iter().sum::<f64>() / n, b.iter().sum::<f64>() / n);
    let cov: f64 = a.iter().zip(&b).map(|(x, y)| (x - ma) * (y - mb)).sum();
    let corr = cov
        / (a.iter().map(|x| (x - ma).powi(2)).sum::<f64>()
            * b.iter().map(|y| (y - mb).powi(2)).sum::<f64>())
        .sqrt();
    assert!(corr > 0.9, "correlation {corr}");
}
