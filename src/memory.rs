//! The memory pool of halo's sessions: DataFusion's `FairSpillPool`, except
//! that shuffles (`RepartitionExec`) are never asked to spill.
//!
//! Why: in DataFusion 55 a `RepartitionExec` that spills under a memory limit
//! can deadlock when its spill pool holds two open files (apache/datafusion
//! issue #24883, fixed upstream after 55.2). Every worker parks and the query
//! never returns, which for a nightly job is worse than failing. Sorts,
//! aggregates and joins still spill within the limit; a shuffle only holds the
//! batches in flight between its producers and consumers, so it is accounted
//! for (in [`MemoryPool::reserved`]) but never refused.

use std::fmt;
use std::sync::atomic::{AtomicUsize, Ordering};

use datafusion::common::Result;
use datafusion::execution::memory_pool::{
    FairSpillPool, MemoryConsumer, MemoryLimit, MemoryPool, MemoryReservation,
};

/// `FairSpillPool` with shuffles exempt from spilling (see the module docs).
#[derive(Debug)]
pub struct HaloMemoryPool {
    inner: FairSpillPool,
    limit: usize,
    shuffles: AtomicUsize,
}

impl HaloMemoryPool {
    /// A pool of `limit` bytes.
    pub fn new(limit: usize) -> Self {
        Self {
            inner: FairSpillPool::new(limit),
            limit,
            shuffles: AtomicUsize::new(0),
        }
    }

    fn is_shuffle(consumer: &MemoryConsumer) -> bool {
        consumer.name().starts_with("RepartitionExec")
    }
}

impl fmt::Display for HaloMemoryPool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "HaloMemoryPool(limit: {}, shuffles: {})",
            self.limit,
            self.shuffles.load(Ordering::Relaxed)
        )
    }
}

impl MemoryPool for HaloMemoryPool {
    fn name(&self) -> &str {
        "HaloMemoryPool"
    }

    fn register(&self, consumer: &MemoryConsumer) {
        if !Self::is_shuffle(consumer) {
            self.inner.register(consumer);
        }
    }

    fn unregister(&self, consumer: &MemoryConsumer) {
        if !Self::is_shuffle(consumer) {
            self.inner.unregister(consumer);
        }
    }

    fn grow(&self, reservation: &MemoryReservation, additional: usize) {
        if Self::is_shuffle(reservation.consumer()) {
            self.shuffles.fetch_add(additional, Ordering::Relaxed);
        } else {
            self.inner.grow(reservation, additional);
        }
    }

    fn shrink(&self, reservation: &MemoryReservation, shrink: usize) {
        if Self::is_shuffle(reservation.consumer()) {
            self.shuffles.fetch_sub(shrink, Ordering::Relaxed);
        } else {
            self.inner.shrink(reservation, shrink);
        }
    }

    fn try_grow(&self, reservation: &MemoryReservation, additional: usize) -> Result<()> {
        if Self::is_shuffle(reservation.consumer()) {
            self.shuffles.fetch_add(additional, Ordering::Relaxed);
            Ok(())
        } else {
            self.inner.try_grow(reservation, additional)
        }
    }

    fn reserved(&self) -> usize {
        self.inner.reserved() + self.shuffles.load(Ordering::Relaxed)
    }

    fn memory_limit(&self) -> MemoryLimit {
        MemoryLimit::Finite(self.limit)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    #[test]
    fn shuffles_are_never_refused_and_others_keep_the_limit() {
        let pool: Arc<dyn MemoryPool> = Arc::new(HaloMemoryPool::new(1000));
        let shuffle = MemoryConsumer::new("RepartitionExec[0]")
            .with_can_spill(true)
            .register(&pool);
        shuffle.try_grow(5000).unwrap();
        let sort = MemoryConsumer::new("ExternalSorter[0]")
            .with_can_spill(true)
            .register(&pool);
        sort.try_grow(900).unwrap();
        assert!(
            sort.try_grow(200).is_err(),
            "the sort must spill past the limit"
        );
        assert_eq!(pool.reserved(), 5900);
        drop(shuffle);
        assert_eq!(pool.reserved(), 900);
    }
}
