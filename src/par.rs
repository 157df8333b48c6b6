//! Per-item work spread over the machine's cores, results in input order.
//!
//! `load_paths_with` loads rule files with it, and `compile` and `check` render rules with it.
//! The items are cut into runs; each worker takes its first run by its number, then the next
//! run nobody has taken yet (SigmaHQ's files differ a hundredfold in size, so runs dealt in a
//! fixed pattern leave one core idle while the other finishes). Each worker owns the items it
//! takes (nothing is shared but `f` and the queue of runs), and the results are put back in
//! input order, so the output is the one a sequential loop gives whatever the number of cores
//! and however the runs were shared. A worker's panic is raised again in the caller once every
//! worker has stopped, as it would have been without threads.

use std::sync::{Condvar, Mutex};

/// Items in one run taken by a worker at a time. Long enough that taking one costs nothing
/// beside the work and a worker keeps a stretch of neighbouring files, short enough that the
/// workers finish close together.
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
    threads().min(items.div_ceil(RUN))
}

/// The threads to use: `RULEQC_THREADS`, or one per core.
pub fn threads() -> usize {
    match threads_setting() {
        Ok(Some(n)) => n,
        // The command line reports a bad setting before any work starts.
        _ => std::thread::available_parallelism().map_or(1, |n| n.get()),
    }
}

/// `items.into_iter().map(f).collect()`, on `workers(items.len())` threads.
pub fn map<T: Send, R: Send>(items: Vec<T>, f: impl Fn(T) -> R + Sync) -> Vec<R> {
    map_on(workers(items.len()), items, f)
}

/// `map` on exactly `n` workers (tests use it to force threads on a small input).
pub fn map_on<T: Send, R: Send>(n: usize, items: Vec<T>, f: impl Fn(T) -> R + Sync) -> Vec<R> {
    let len = items.len();
    let mut results: Vec<Option<Vec<R>>> = Vec::new();
    stream_on(n, usize::MAX, items, f, |i, run| {
        debug_assert_eq!(i, results.len());
        results.push(Some(run));
    });
    let out: Vec<R> = results.into_iter().flatten().flatten().collect();
    debug_assert_eq!(out.len(), len);
    out
}

/// Runs `f` over `items` on `workers(items.len())` threads and hands the results to `each`,
/// on the calling thread, in input order and while the workers go on: the caller prints or
/// packages what is done while the rest is rendered. At most about `ahead` items' results
/// wait for `each` at a time (a worker does not start a run further ahead than that), so the
/// memory held stays bounded whatever the number of items.
pub fn stream<T: Send, R: Send>(
    ahead: usize,
    items: Vec<T>,
    f: impl Fn(T) -> R + Sync,
    mut each: impl FnMut(R),
) {
    match workers(items.len()) {
        1 => items.into_iter().for_each(|t| each(f(t))),
        n => stream_on(n, ahead, items, f, |_, run| {
            run.into_iter().for_each(&mut each)
        }),
    }
}

/// Runs taken by workers, and results waiting to be handed on.
struct Queue<T, R> {
    /// The runs nobody has taken yet, the next one last.
    runs: Vec<(usize, Vec<T>)>,
    /// Results of finished runs, by run number; `None` until done (or after hand-over).
    done: Vec<Option<Vec<R>>>,
    /// The next run to hand on.
    next: usize,
    /// A worker (in `f`) or the caller (in `each`) panicked: the workers stop taking runs.
    stopped: bool,
}

/// Marks the queue stopped when its thread unwinds (a panic in `f` or in `each`), so that
/// nobody waits for a run that will not come or for a hand-over that will not happen.
struct Stop<'q, T, R>(&'q Mutex<Queue<T, R>>, &'q Condvar, &'q Condvar);

impl<T, R> Drop for Stop<'_, T, R> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            let mut q = self.0.lock().unwrap_or_else(|p| p.into_inner());
            q.stopped = true;
            self.1.notify_all();
            self.2.notify_all();
        }
    }
}

/// `stream`'s work on exactly `n` workers; `each` gets each run's results with its number.
fn stream_on<T: Send, R: Send>(
    n: usize,
    ahead: usize,
    items: Vec<T>,
    f: impl Fn(T) -> R + Sync,
    mut each: impl FnMut(usize, Vec<R>),
) {
    if n <= 1 {
        if !items.is_empty() {
            each(0, items.into_iter().map(f).collect());
        }
        return;
    }
    let mut runs: Vec<(usize, Vec<T>)> = Vec::with_capacity(items.len().div_ceil(RUN));
    let mut items = items.into_iter();
    loop {
        let run: Vec<T> = items.by_ref().take(RUN).collect();
        if run.is_empty() {
            break;
        }
        runs.push((runs.len(), run));
    }
    let count = runs.len();
    // Worker `w` starts with run `w` (so every worker gets work when there is enough), then
    // takes the lowest run left.
    let firsts: Vec<(usize, Vec<T>)> = runs.drain(..n.min(count)).rev().collect();
    runs.reverse();
    let ahead_runs = (ahead / RUN).max(n + 1);
    let queue = Mutex::new(Queue {
        runs,
        done: (0..count).map(|_| None).collect(),
        next: 0,
        stopped: false,
    });
    // Signalled when a run is done (for the caller) and when one is handed on (for workers
    // waiting not to get too far ahead).
    let (finished, handed) = (Condvar::new(), Condvar::new());
    let f = &f;
    let (queue, finished, handed) = (&queue, &finished, &handed);
    std::thread::scope(|s| {
        let mut firsts = firsts;
        let workers: Vec<_> = (0..firsts.len())
            .map(|_| {
                let first = firsts.pop().expect("one first run per worker");
                s.spawn(move || {
                    let _stop = Stop(queue, finished, handed);
                    let mut run = Some(first);
                    while let Some((i, items)) = run.take() {
                        let results: Vec<R> = items.into_iter().map(f).collect();
                        let mut q = queue.lock().unwrap_or_else(|p| p.into_inner());
                        q.done[i] = Some(results);
                        finished.notify_all();
                        loop {
                            if q.stopped {
                                return;
                            }
                            match q.runs.last() {
                                None => return,
                                Some((j, _)) if *j >= q.next + ahead_runs => {
                                    q = handed.wait(q).unwrap_or_else(|p| p.into_inner());
                                }
                                Some(_) => break,
                            }
                        }
                        run = q.runs.pop();
                    }
                })
            })
            .collect();
        // Hand the runs on in order as they are done. If `each` panics, the workers stop.
        let _stop = Stop(queue, finished, handed);
        let mut q = queue.lock().unwrap_or_else(|p| p.into_inner());
        while q.next < count && !q.stopped {
            let next = q.next;
            match q.done[next].take() {
                Some(results) => {
                    q.next += 1;
                    handed.notify_all();
                    drop(q);
                    each(next, results);
                    q = queue.lock().unwrap_or_else(|p| p.into_inner());
                }
                None => q = finished.wait(q).unwrap_or_else(|p| p.into_inner()),
            }
        }
        drop(q);
        for w in workers {
            if let Err(p) = w.join() {
                std::panic::resume_unwind(p);
            }
        }
    });
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

    #[test]
    fn a_free_worker_takes_the_next_run() {
        use std::sync::atomic::{AtomicBool, Ordering};
        // Item 0 is slow: it lasts until run 2 has started. A fixed dealing would give run 2
        // to the same worker as run 0 (and wait out the time limit); the free worker takes it.
        let third_started = AtomicBool::new(false);
        let items: Vec<usize> = (0..40 * RUN).collect();
        let got = map_on(2, items.clone(), |i| {
            if i == 2 * RUN {
                third_started.store(true, Ordering::SeqCst);
            }
            if i == 0 {
                let t = std::time::Instant::now();
                while !third_started.load(Ordering::SeqCst) && t.elapsed().as_secs() < 5 {
                    std::thread::sleep(std::time::Duration::from_millis(1));
                }
            }
            (i, std::thread::current().id())
        });
        assert_eq!(got.iter().map(|(i, _)| *i).collect::<Vec<_>>(), items);
        assert_ne!(got[0].1, got[2 * RUN].1, "run 2 waited for the busy worker");
    }

    #[test]
    fn stream_hands_results_on_in_order_and_bounded() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        for n in [1, 2, 3, 5] {
            let started = AtomicUsize::new(0);
            let mut seen = Vec::new();
            let mut most_ahead = 0;
            stream_on(
                n,
                4 * RUN,
                (0..50 * RUN + 3).collect(),
                |i: usize| {
                    started.fetch_add(1, Ordering::SeqCst);
                    i * 3
                },
                |run_no, run| {
                    assert_eq!(run_no * RUN, if n <= 1 { 0 } else { seen.len() });
                    // Items started but not yet handed on: at most the window and the runs
                    // in hand.
                    let ahead = started.load(Ordering::SeqCst) - seen.len();
                    most_ahead = most_ahead.max(ahead);
                    seen.extend(run);
                },
            );
            let expected: Vec<usize> = (0..50 * RUN + 3).map(|i| i * 3).collect();
            assert_eq!(seen, expected, "{n} workers");
            if n > 1 {
                assert!(most_ahead <= (4 + n + 1) * RUN, "{most_ahead} ahead on {n}");
            }
        }
    }

    #[test]
    fn stream_calls_each_on_the_calling_thread() {
        let main = std::thread::current().id();
        let mut count = 0;
        stream(
            0,
            (0..1000).collect(),
            |i: usize| i,
            |_| {
                assert_eq!(std::thread::current().id(), main);
                count += 1;
            },
        );
        assert_eq!(count, 1000);
    }

    #[test]
    fn a_panic_while_streaming_reaches_the_caller_and_stops_the_workers() {
        let caught = std::panic::catch_unwind(|| {
            stream_on(
                2,
                RUN,
                (0..100 * RUN).collect(),
                |i: usize| i,
                |_, run| {
                    assert!(!run.contains(&(10 * RUN)), "hand-over failed");
                },
            )
        });
        assert!(caught.is_err());
        let caught = std::panic::catch_unwind(|| {
            stream_on(
                2,
                RUN,
                (0..100 * RUN).collect(),
                |i: usize| {
                    assert!(i != 50 * RUN, "item failed");
                },
                |_, _| {},
            )
        });
        assert!(caught.is_err());
    }
}
