//! Per-item work spread over the machine's cores, results in input order.
//!
//! `load_paths_with` loads rule files with it, and `compile` and `check` render rules with it.
//! The items are dealt to the workers in fixed runs, each worker owns its items (nothing is
//! shared but `f`), and the results are dealt back in the same runs, so the output is the one
//! a sequential loop gives whatever the number of cores. A worker's panic is raised again in
//! the caller once every worker has stopped, as it would have been without threads.

/// Items in one run dealt to a worker. Long enough that a worker keeps a stretch of
/// neighbouring files (similar sizes in a directory), short enough that the workers' shares
/// even out on a few hundred items.
const RUN: usize = 16;

/// Below this many items no thread is started: starting one costs more than a rule takes.
const MIN_ITEMS: usize = 2 * RUN;

/// The environment variable that sets the number of threads (default: one per core).
pub const THREADS_VAR: &str = "RULEQC_THREADS";

/// `RULEQC_THREADS`: `None` when unset, `Err` (the message) when it is not a positive whole
/// number.
pub fn threads_setting() -> Result<Option<usize>, String> {
    match std::env::var(THREADS_VAR) {
        Err(std::env::VarError::NotPresent) => Ok(None),
        Ok(v) => match v.trim().parse::<usize>() {
            Ok(n) if n > 0 => Ok(Some(n)),
            _ => Err(format!(
                "{THREADS_VAR} is the number of threads to use, a whole number from 1; found `{v}`"
            )),
        },
        Err(std::env::VarError::NotUnicode(v)) => Err(format!(
            "{THREADS_VAR} is the number of threads to use, a whole number from 1; found `{}`",
            v.to_string_lossy()
        )),
    }
}

/// How many workers `map` uses for `items` items: one (the calling thread, no thread
/// started) for a handful, else `RULEQC_THREADS` or one per core.
pub fn workers(items: usize) -> usize {
    if items < MIN_ITEMS {
        return 1;
    }
    let threads = match threads_setting() {
        Ok(Some(n)) => n,
        // The command line reports a bad setting before any work starts.
        _ => std::thread::available_parallelism().map_or(1, |n| n.get()),
    };
    threads.min(items.div_ceil(RUN))
}

/// `items.into_iter().map(f).collect()`, on `workers(items.len())` threads.
pub fn map<T: Send, R: Send>(items: Vec<T>, f: impl Fn(T) -> R + Sync) -> Vec<R> {
    map_on(workers(items.len()), items, f)
}

/// `map` on exactly `n` workers (tests use it to force threads on a small input).
pub fn map_on<T: Send, R: Send>(n: usize, items: Vec<T>, f: impl Fn(T) -> R + Sync) -> Vec<R> {
    let len = items.len();
    if n <= 1 {
        return items.into_iter().map(f).collect();
    }
    let hand = |i: usize| (i / RUN) % n;
    let mut hands: Vec<Vec<T>> = (0..n).map(|_| Vec::with_capacity(len / n + RUN)).collect();
    for (i, item) in items.into_iter().enumerate() {
        hands[hand(i)].push(item);
    }
    let f = &f;
    let done: Vec<Vec<R>> = std::thread::scope(|s| {
        let running: Vec<_> = hands
            .into_iter()
            .map(|items| s.spawn(move || items.into_iter().map(f).collect::<Vec<R>>()))
            .collect();
        running
            .into_iter()
            .map(|t| t.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
            .collect()
    });
    let mut results: Vec<_> = done.into_iter().map(Vec::into_iter).collect();
    (0..len)
        .map(|i| results[hand(i)].next().expect("one result per item"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_keep_the_input_order_on_any_number_of_workers() {
        let items: Vec<usize> = (0..1000).collect();
        let expected: Vec<String> = items.iter().map(|i| format!("item {i}")).collect();
        for n in [1, 2, 3, 7, 64, 200] {
            let got = map_on(n, items.clone(), |i| format!("item {i}"));
            assert_eq!(got, expected, "{n} workers");
        }
        // Fewer items than one run per worker, and none.
        assert_eq!(map_on(4, vec![1, 2, 3], |i| i * 2), vec![2, 4, 6]);
        assert_eq!(map_on(4, Vec::<u8>::new(), |i| i), Vec::<u8>::new());
    }

    #[test]
    fn work_runs_on_several_threads_when_asked() {
        let main = std::thread::current().id();
        let ids = map_on(2, (0..100).collect(), |_: usize| {
            std::thread::current().id()
        });
        assert!(ids.iter().all(|id| *id != main));
        assert!(ids.iter().any(|id| *id != ids[0]));
    }

    #[test]
    fn a_handful_of_items_starts_no_thread() {
        assert_eq!(workers(0), 1);
        assert_eq!(workers(1), 1);
        assert_eq!(workers(MIN_ITEMS - 1), 1);
        let main = std::thread::current().id();
        let ids = map(vec![(); MIN_ITEMS - 1], |()| std::thread::current().id());
        assert!(ids.iter().all(|id| *id == main));
    }

    #[test]
    fn a_panic_in_a_worker_reaches_the_caller() {
        let caught = std::panic::catch_unwind(|| {
            map_on(2, (0..100).collect(), |i: usize| {
                assert!(i != 77, "item 77 is bad");
                i
            })
        });
        let payload = caught.expect_err("the panic is raised again");
        let message = payload
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| payload.downcast_ref::<&str>().copied());
        assert_eq!(message, Some("item 77 is bad"));
    }
}
