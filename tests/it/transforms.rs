//! Built-in transforms against hand-computed values.

use halo::momentum;
use polars::prelude::*;

#[test]
fn creator_momentum_matches_a_hand_computation() {
    // Creator a: 10 clicks today; 2 clicks on each of days 1..=13; nothing on 14..=27.
    // Creator b: 3 clicks every day of the window (no variation -> z is null).
    let mut creator = Vec::new();
    let mut idx = Vec::new();
    let mut clicks = Vec::new();
    let mut orders = Vec::new();
    creator.push("a");
    idx.push(0i32);
    clicks.push(10i64);
    orders.push(1i64);
    for d in 1..=13 {
        creator.push("a");
        idx.push(d);
        clicks.push(2);
        orders.push(0);
    }
    for d in 0..28 {
        creator.push("b");
        idx.push(d);
        clicks.push(3);
        orders.push(if d < 7 { 1 } else { 0 });
    }
    // Outside the 28-day window: ignored.
    creator.push("a");
    idx.push(40);
    clicks.push(1000);
    orders.push(0);
    let df = df!("creator_id" => creator, "day_index" => idx, "clicks" => clicks, "code_orders" => orders).unwrap();
    let params = halo::params::Params::new("USD", "UTC");
    let window = params.int(&momentum::WINDOW_DAYS).unwrap();
    assert_eq!(window, 28, "the documented default window");
    let out = momentum::compute(df, window).unwrap();
    assert_eq!(out.height(), 2);
    let get_f = |c: &str, r: usize| out.column(c).unwrap().f64().unwrap().get(r);
    let get_i = |c: &str, r: usize| out.column(c).unwrap().i64().unwrap().get(r);
    // a: prior 27 days = thirteen 2s and fourteen 0s.
    let prior: Vec<f64> = (0..27).map(|d| if d < 13 { 2.0 } else { 0.0 }).collect();
    let mean = prior.iter().sum::<f64>() / 27.0;
    let var = prior.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / 26.0;
    assert_eq!(get_i("clicks_today", 0), Some(10));
    assert_eq!(get_i("clicks_7d", 0), Some(10 + 6 * 2));
    assert!((get_f("baseline_mean", 0).unwrap() - mean).abs() < 1e-12);
    assert!((get_f("baseline_std", 0).unwrap() - var.sqrt()).abs() < 1e-12);
    assert!((get_f("clicks_z", 0).unwrap() - (10.0 - mean) / var.sqrt()).abs() < 1e-12);
    assert_eq!(get_i("code_orders_today", 0), Some(1));
    // b: a flat series has no z-score.
    assert_eq!(get_f("baseline_std", 1), Some(0.0));
    assert_eq!(get_f("clicks_z", 1), None);
    assert_eq!(get_i("code_orders_7d", 1), Some(7));
}
