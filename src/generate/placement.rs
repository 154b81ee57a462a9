//! What an image-recognition service would report for each post
//! (`content.detected_products`), and what the post really showed
//! (`_truth/featured_products`), so placement checks are measured against
//! something they did not produce.
//!
//! A real recognizer misses products (a bottle half out of frame), reports
//! some at low confidence, and sees products that are not there (a look-alike
//! bottle, the brand's logo on a tote). And some campaign posts never show
//! the campaign's product at all: the creator shows last season's one, or
//! none. Only posts with pictures or video are analysed (stories and lives
//! pass before a nightly batch can see them); their field is null.
//!
//! Draws come from an RNG of its own, so every other stream (traffic, orders,
//! captions) is the same as before this existed; a post's `skus_shown` (what
//! it links to and talks about, and so what its buyers buy) is left as it is.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::world::{Campaign, Post, Product};

/// Share of a campaign's analysed posts that show none of its products.
const NOT_SHOWN: f64 = 0.12;

/// What one post shows and what the recognizer reports of it.
#[derive(Debug, Clone, Default)]
pub struct Placement {
    /// SKUs the post really shows.
    pub featured: Vec<String>,
    /// The recognizer's output: None when the post was not analysed.
    pub detected: Option<Vec<(String, f64)>>,
}

/// Whether a post's format has pictures a recognizer sees in a nightly batch.
pub fn analysed(format: &str) -> bool {
    matches!(format, "reel" | "video" | "short" | "feed_post")
}

/// A confidence in [lo, hi), rounded to two decimals as services report it.
fn confidence(rng: &mut ChaCha8Rng, lo: f64, hi: f64) -> f64 {
    (rng.random_range(lo..hi) * 100.0).round() / 100.0
}

/// Decides, for every post, what it shows and what is detected.
pub fn plant(posts: &mut [Post], campaigns: &[Campaign], products: &[Product], seed: u64) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x0B1E_C7ED);
    for p in posts.iter_mut() {
        let mut featured: Vec<String> = if p.features_brand {
            p.skus_shown.clone()
        } else {
            Vec::new()
        };
        // A campaign post that shows none of the campaign's products: nothing
        // of the brand, or another of its products.
        let campaign_skus: &[String] = p.campaign.map_or(&[], |k| &campaigns[k].skus);
        let draw_not_shown = rng.random_bool(NOT_SHOWN);
        if !campaign_skus.is_empty() && analysed(p.format) && draw_not_shown {
            featured.clear();
            if rng.random_bool(0.5) {
                let others: Vec<&Product> = products
                    .iter()
                    .filter(|x| !campaign_skus.contains(&x.sku))
                    .collect();
                if !others.is_empty() {
                    featured.push(others[rng.random_range(0..others.len())].sku.clone());
                }
            }
        }
        featured.sort();
        featured.dedup();
        let detected = analysed(p.format).then(|| {
            let mut out: Vec<(String, f64)> = Vec::new();
            for sku in &featured {
                match rng.random_range(0..100) {
                    // Seen clearly.
                    0..=74 => out.push((sku.clone(), confidence(&mut rng, 0.62, 0.99))),
                    // Seen, but the service is unsure.
                    75..=91 => out.push((sku.clone(), confidence(&mut rng, 0.30, 0.60))),
                    // Missed.
                    _ => {}
                }
            }
            // Something that is not there, mostly at low confidence.
            if rng.random_bool(0.15) {
                let sku = products[rng.random_range(0..products.len())].sku.clone();
                if !featured.contains(&sku) {
                    let c = if rng.random_bool(0.8) {
                        confidence(&mut rng, 0.30, 0.58)
                    } else {
                        confidence(&mut rng, 0.58, 0.80)
                    };
                    out.push((sku, c));
                }
            }
            out.sort_by(|a, b| a.0.cmp(&b.0));
            out.dedup_by(|a, b| a.0 == b.0);
            out
        });
        p.placement = Placement { featured, detected };
    }
}

/// Whether a campaign post, as planted, shows none of its campaign's SKUs
/// (analysed posts only: an unanalysed post is not judged).
pub fn not_shown(p: &Post, campaigns: &[Campaign]) -> bool {
    let Some(k) = p.campaign else { return false };
    analysed(p.format)
        && !p
            .placement
            .featured
            .iter()
            .any(|s| campaigns[k].skus.contains(s))
}
