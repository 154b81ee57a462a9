//! Journeys as halo holds them in memory, and the path transforms.
//!
//! A journey's raw touches map onto the *positions* of its transformed path;
//! every model weighs positions, and a position's weight is split equally
//! among the raw touches that collapsed into it. So the transform decides
//! what counts as "one touch" for every model alike.

use std::collections::HashMap;

use crate::error::{Error, Result};

/// Interns strings to dense ids, in first-seen order.
#[derive(Debug, Default, Clone)]
pub struct Interner {
    ids: HashMap<String, u32>,
    names: Vec<String>,
}

impl Interner {
    /// The id of `s`, adding it when new.
    pub fn id(&mut self, s: &str) -> u32 {
        if let Some(&i) = self.ids.get(s) {
            return i;
        }
        let i = self.names.len() as u32;
        self.ids.insert(s.to_string(), i);
        self.names.push(s.to_string());
        i
    }

    /// The string of id `i`.
    pub fn name(&self, i: u32) -> &str {
        &self.names[i as usize]
    }

    /// Number of distinct strings.
    pub fn len(&self) -> usize {
        self.names.len()
    }

    /// True when nothing was interned.
    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }
}

/// How a raw channel sequence becomes the path the models see (Google
/// fractribution's transforms; `exposure` is its default and halo's).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PathTransform {
    /// Every touch is a position.
    Unique,
    /// Consecutive repeats of a channel collapse into one position.
    Exposure,
    /// Only a channel's first occurrence is a position; later touches of it
    /// join that position.
    First,
    /// Like `first`, and the path key also carries each channel's count, so
    /// `A(2) > B(1)` and `A(1) > B(1)` are different paths.
    Frequency,
}

impl PathTransform {
    /// Parses the job parameter.
    pub fn parse(s: &str) -> Result<Self> {
        Ok(match s {
            "unique" => Self::Unique,
            "exposure" => Self::Exposure,
            "first" => Self::First,
            "frequency" => Self::Frequency,
            other => {
                return Err(Error::Config(format!(
                    "params.extra.attribution_path_transform must be one of unique, exposure, first, frequency; got '{other}'"
                )));
            }
        })
    }
}

/// A transformed path: the channel of each position, and (for `frequency`)
/// each position's touch count.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transformed {
    /// Channel of each position.
    pub channels: Vec<u32>,
    /// Position of each raw touch.
    pub position_of: Vec<usize>,
    /// Raw touches in each position.
    pub sizes: Vec<u32>,
    /// The key that identifies the path among all paths (channel, and the
    /// count for `frequency`).
    pub key: Vec<u64>,
}

/// Applies `t` to a raw channel sequence.
pub fn transform(raw: &[u32], t: PathTransform) -> Transformed {
    let mut channels: Vec<u32> = Vec::with_capacity(raw.len());
    let mut position_of = Vec::with_capacity(raw.len());
    let mut sizes: Vec<u32> = Vec::with_capacity(raw.len());
    for &c in raw {
        let pos = match t {
            PathTransform::Unique => None,
            PathTransform::Exposure => (channels.last() == Some(&c)).then(|| channels.len() - 1),
            PathTransform::First | PathTransform::Frequency => {
                channels.iter().position(|&x| x == c)
            }
        };
        let pos = pos.unwrap_or_else(|| {
            channels.push(c);
            sizes.push(0);
            channels.len() - 1
        });
        sizes[pos] += 1;
        position_of.push(pos);
    }
    let key = channels
        .iter()
        .zip(&sizes)
        .map(|(&c, &n)| {
            let count = if t == PathTransform::Frequency { n } else { 0 };
            (u64::from(c) << 32) | u64::from(count)
        })
        .collect();
    Transformed {
        channels,
        position_of,
        sizes,
        key,
    }
}

/// The channel of a path key element.
pub fn key_channel(k: u64) -> u32 {
    (k >> 32) as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    // fractribution's documented example: (D, A, B, B, C, D, C, C).
    const RAW: [u32; 8] = [3, 0, 1, 1, 2, 3, 2, 2];

    #[test]
    fn transforms_match_fractribution_examples() {
        assert_eq!(
            transform(&RAW, PathTransform::Unique).channels,
            RAW.to_vec()
        );
        let e = transform(&RAW, PathTransform::Exposure);
        assert_eq!(e.channels, vec![3, 0, 1, 2, 3, 2]);
        assert_eq!(e.position_of, vec![0, 1, 2, 2, 3, 4, 5, 5]);
        assert_eq!(e.sizes, vec![1, 1, 2, 1, 1, 2]);
        let f = transform(&RAW, PathTransform::First);
        assert_eq!(f.channels, vec![3, 0, 1, 2]);
        assert_eq!(f.position_of, vec![0, 1, 2, 2, 3, 0, 3, 3]);
        let q = transform(&RAW, PathTransform::Frequency);
        assert_eq!(q.sizes, vec![2, 1, 2, 3]);
        assert_ne!(q.key, f.key);
        assert_eq!(key_channel(q.key[3]), 2);
    }
}
