//! How the engine allocates instances: a pool sized from the work, or
//! wasmtime's on-demand allocator when a pool would not fit.
//!
//! A pooling allocator reserves address space up front for every slot: one
//! linear memory of the plugin's maximum size per memory slot, one async
//! stack per instance, and the tables. With wasmtime's defaults a memory slot
//! is a 4 GiB reservation plus a 32 MiB guard, which made a pool of 512
//! memories reserve 2 TiB (and fail in `mmap` under `ulimit -v`, or for
//! `--max-parallel 20000` with any limit). So:
//!
//! - a memory slot is the plugin's maximum memory (`max_memory_bytes`, 256 MiB
//!   by default, also enforced per store) plus a 64 KiB guard: wasmtime then
//!   emits explicit bounds checks instead of relying on a 4 GiB reservation,
//!   a cost this host does not notice (its guests wait on HTTP);
//! - every count is computed with checked arithmetic;
//! - the pool is used only when its reservation fits in a quarter of the
//!   process's address-space limit (`RLIMIT_AS`, `ulimit -v`), or in 32 TiB
//!   when there is no limit (a quarter of x86-64's user address space), and
//!   its mappings in half of the kernel's `vm.max_map_count` (65,530 by
//!   default): each pooled stack is two mappings from the start (stack and
//!   guard page) and a slot in use splits its memory and tables into more,
//!   about [`MAPPINGS_PER_INSTANCE`] per instance, so the default limit holds
//!   a pool for about 2,000 concurrent tasks. Otherwise the engine uses the on-demand allocator with small
//!   reservations (a memory maps its current size plus 16 MiB to grow into,
//!   and moves when it grows past that), so a live instance costs about what
//!   it uses.

use wasmtime::{Config, InstanceAllocationStrategy, PoolingAllocationConfig};

use crate::engine::EngineOptions;

/// Linear memories one component instance may have in the pool (the ACI
/// plugin has 1).
pub const MEMORIES_PER_INSTANCE: u32 = 2;
/// Tables one component instance may have (the ACI plugin has 2).
pub const TABLES_PER_INSTANCE: u32 = 8;
/// Core module instances one component instance may have.
pub const CORE_INSTANCES_PER_INSTANCE: u32 = 8;
/// The guard region after each linear memory.
pub const MEMORY_GUARD_BYTES: u64 = 64 << 10;
/// On-demand memories reserve this much beyond their size to grow in place.
pub const GROWTH_RESERVE_BYTES: u64 = 16 << 20;
/// Elements a pooled table slot holds (the ACI plugin's tables have 323).
pub const TABLE_ELEMENTS: usize = 10_000;
/// Bytes of a pooled table element (a function reference).
const TABLE_ELEMENT_BYTES: u64 = 8;
/// wasmtime's async (fiber) stack size, one per instance, plus its guard page.
const ASYNC_STACK_BYTES: u64 = (2 << 20) + 4096;
/// Address space a pool may take when the process has no `RLIMIT_AS`.
pub const UNLIMITED_POOL_BUDGET: u64 = 32 << 40;
/// Memory mappings a pooled instance may need at once: its stack and guard,
/// its memory (accessible part and the rest of the slot), two tables.
pub const MAPPINGS_PER_INSTANCE: u64 = 8;
/// `vm.max_map_count` when it cannot be read (the kernel's default).
const DEFAULT_MAX_MAP_COUNT: u64 = 65_530;

/// What a pool must fit in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PoolBudget {
    /// Bytes of address space.
    pub bytes: u64,
    /// Memory mappings.
    pub mappings: u64,
}

/// Which allocator the engine got, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Allocation {
    /// A pool of `instances` component instances reserving `reserved_bytes`.
    Pooling {
        /// Component instances the pool holds at once.
        instances: u32,
        /// Address space the pool reserves.
        reserved_bytes: u64,
    },
    /// wasmtime's on-demand allocator.
    OnDemand {
        /// Why there is no pool.
        reason: String,
    },
}

/// Component instances `max_parallel` concurrent tasks need: each running
/// task holds one, plus one for `on-kill` while it cancels, plus a few for
/// `describe`, `validate` and hook calls. Saturates at `u32::MAX`.
pub fn instances_for(max_parallel: usize) -> u32 {
    let needed = max_parallel.saturating_mul(2).saturating_add(8);
    u32::try_from(needed).unwrap_or(u32::MAX)
}

/// The address space a pool of `instances` reserves with a memory slot of
/// `max_memory_bytes`, or `None` when it does not fit in a `u64`.
pub fn pool_bytes(instances: u32, max_memory_bytes: usize) -> Option<u64> {
    let n = u64::from(instances);
    let page = 64u64 << 10;
    let memory = u64::try_from(max_memory_bytes)
        .ok()?
        .checked_next_multiple_of(page)?
        .checked_add(MEMORY_GUARD_BYTES)?;
    let memories = n
        .checked_mul(u64::from(MEMORIES_PER_INSTANCE))?
        .checked_mul(memory)?;
    let tables = n
        .checked_mul(u64::from(TABLES_PER_INSTANCE))?
        .checked_mul(TABLE_ELEMENTS as u64 * TABLE_ELEMENT_BYTES)?;
    let stacks = n.checked_mul(ASYNC_STACK_BYTES)?;
    memories.checked_add(tables)?.checked_add(stacks)
}

/// What a pool may take in this process: a quarter of the soft `RLIMIT_AS`
/// (or [`UNLIMITED_POOL_BUDGET`] without one) and half of `vm.max_map_count`.
pub fn pool_budget() -> PoolBudget {
    let max_map_count = std::fs::read_to_string("/proc/sys/vm/max_map_count")
        .ok()
        .and_then(|s| s.trim().parse::<u64>().ok())
        .unwrap_or(DEFAULT_MAX_MAP_COUNT);
    PoolBudget {
        bytes: address_space_limit().map_or(UNLIMITED_POOL_BUDGET, |limit| limit / 4),
        mappings: max_map_count / 2,
    }
}

/// The soft `RLIMIT_AS` (`ulimit -v`), if finite.
pub fn address_space_limit() -> Option<u64> {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit only writes the struct we pass.
    let rc = unsafe { libc::getrlimit(libc::RLIMIT_AS, &mut lim) };
    (rc == 0 && lim.rlim_cur != libc::RLIM_INFINITY).then_some(lim.rlim_cur)
}

/// Why a pool of `options.max_instances` does not fit in `budget`, if it does not.
fn unfit(options: &EngineOptions, budget: PoolBudget) -> Option<String> {
    let n = options.max_instances;
    if !options.pooling {
        return Some("pooling disabled".into());
    }
    let Some(bytes) = pool_bytes(n, options.max_memory_bytes) else {
        return Some(format!("a pool of {n} instances exceeds the address space"));
    };
    if bytes > budget.bytes {
        return Some(format!(
            "a pool of {n} instances would reserve {} MiB of address space, more than {} MiB",
            bytes >> 20,
            budget.bytes >> 20
        ));
    }
    let mappings = u64::from(n).saturating_mul(MAPPINGS_PER_INSTANCE);
    if mappings > budget.mappings {
        return Some(format!(
            "a pool of {n} instances may need {mappings} memory mappings, more than {} \
             (half of vm.max_map_count)",
            budget.mappings
        ));
    }
    None
}

/// Chooses the allocator for `options` within `budget` and configures
/// `config` for it.
pub fn configure(config: &mut Config, options: &EngineOptions, budget: PoolBudget) -> Allocation {
    let max_memory = options.max_memory_bytes as u64;
    config.memory_guard_size(MEMORY_GUARD_BYTES);
    let unfit = unfit(options, budget);
    let pool = match &unfit {
        None => pooling_config(options),
        Some(_) => None,
    };
    match pool {
        Some(pool) => {
            // Every memory lives in its slot: the slot is the reservation.
            config.memory_reservation(max_memory);
            config.memory_reservation_for_growth(0);
            config.allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
            Allocation::Pooling {
                instances: options.max_instances,
                reserved_bytes: pool_bytes(options.max_instances, options.max_memory_bytes)
                    .unwrap_or(u64::MAX),
            }
        }
        None => {
            config.memory_reservation(0);
            config.memory_reservation_for_growth(GROWTH_RESERVE_BYTES);
            config.allocation_strategy(InstanceAllocationStrategy::OnDemand);
            let reason = unfit.unwrap_or_else(|| {
                format!(
                    "a pool of {} instances exceeds wasmtime's counts",
                    options.max_instances
                )
            });
            Allocation::OnDemand { reason }
        }
    }
}

/// The pool's limits, or `None` when a count overflows `u32`.
fn pooling_config(options: &EngineOptions) -> Option<PoolingAllocationConfig> {
    let n = options.max_instances;
    let mut pool = PoolingAllocationConfig::default();
    pool.total_component_instances(n)
        .total_core_instances(n.checked_mul(CORE_INSTANCES_PER_INSTANCE)?)
        .total_memories(n.checked_mul(MEMORIES_PER_INSTANCE)?)
        .total_tables(n.checked_mul(TABLES_PER_INSTANCE)?)
        .total_stacks(n)
        .table_elements(TABLE_ELEMENTS)
        .max_memory_size(options.max_memory_bytes);
    Some(pool)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options(instances: u32) -> EngineOptions {
        EngineOptions {
            max_instances: instances,
            cache_dir: None,
            ..EngineOptions::default()
        }
    }

    #[test]
    fn engines_for_huge_counts_start() {
        for n in [instances_for(20_000), u32::MAX] {
            let engine = crate::engine::PluginEngine::new(options(n)).unwrap();
            assert!(
                matches!(engine.allocation(), Allocation::OnDemand { .. }),
                "{:?}",
                engine.allocation()
            );
        }
    }

    #[test]
    fn instance_counts_saturate() {
        assert_eq!(instances_for(16), 40);
        assert_eq!(instances_for(20_000), 40_008);
        assert_eq!(instances_for(usize::MAX), u32::MAX);
        assert_eq!(instances_for(u32::MAX as usize), u32::MAX);
    }

    #[test]
    fn pool_sizes_are_checked() {
        let slot = (256u64 << 20) + MEMORY_GUARD_BYTES;
        let one = pool_bytes(1, 256 << 20).unwrap();
        assert_eq!(one, 2 * slot + 8 * 80_000 + ASYNC_STACK_BYTES);
        assert_eq!(pool_bytes(40, 256 << 20), Some(40 * one));
        assert_eq!(pool_bytes(u32::MAX, usize::MAX), None);
        // Even u32::MAX instances of the default size fit in a u64.
        assert!(pool_bytes(u32::MAX, 256 << 20).is_some());
    }

    #[test]
    fn a_pool_that_does_not_fit_falls_back() {
        let mut config = Config::new();
        let roomy = PoolBudget {
            bytes: 1 << 40,
            mappings: 32_765,
        };
        let within = configure(&mut config, &options(40), roomy);
        assert!(matches!(within, Allocation::Pooling { instances: 40, .. }));
        // `ulimit -v 4000000` leaves a budget of ~1 GiB: 40 slots do not fit.
        let limited = PoolBudget {
            bytes: 4_000_000u64 * 1024 / 4,
            ..roomy
        };
        match configure(&mut config, &options(40), limited) {
            Allocation::OnDemand { reason } => assert!(reason.contains("976 MiB"), "{reason}"),
            other => panic!("{other:?}"),
        }
        // 20,000 tasks: the address space would do, the mappings would not.
        let unlimited = PoolBudget {
            bytes: UNLIMITED_POOL_BUDGET,
            ..roomy
        };
        match configure(&mut config, &options(instances_for(20_000)), unlimited) {
            Allocation::OnDemand { reason } => {
                assert!(reason.contains("max_map_count"), "{reason}")
            }
            other => panic!("{other:?}"),
        }
        // Counts that overflow u32 fall back too.
        let all = PoolBudget {
            bytes: u64::MAX,
            mappings: u64::MAX,
        };
        let huge = configure(&mut config, &options(u32::MAX), all);
        assert!(matches!(huge, Allocation::OnDemand { .. }), "{huge:?}");
        let off = EngineOptions {
            pooling: false,
            ..options(4)
        };
        assert_eq!(
            configure(&mut config, &off, all),
            Allocation::OnDemand {
                reason: "pooling disabled".into()
            }
        );
    }
}
