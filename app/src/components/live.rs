//! Live updates for the pages that show what is happening (the delivery log, a delivery, the
//! events, the dashboard, Connect Unleash): once hydrated, a page listens to the server's change
//! notices (`GET /api/admin/stream`, Server-Sent Events) and refetches when one concerns it, at
//! most every `min_gap`. When the stream cannot be had (an old proxy, the server's stream limit, a
//! network error), the page polls every `poll_every` instead and tries the stream again with
//! back-off. A hidden tab holds no stream and does not poll; it refetches when shown again.
//! Server-side rendering is unchanged: without JavaScript the page is as it was rendered.

use std::time::Duration;

use leptos::prelude::*;

use crate::model::LiveNotice;

/// How a page is kept up to date right now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LiveMode {
    /// Not hydrated (server-side rendering, or no JavaScript): no updates.
    Off,
    /// Opening the stream.
    Connecting,
    /// Refetching on the server's notices.
    Live,
    /// Refetching every few seconds (the stream is unavailable).
    Polling,
}

/// The path of the stream.
pub const STREAM_PATH: &str = "/api/admin/stream";

/// The fastest a page refetches on notices (bursts of notices become one refetch).
pub const MIN_GAP: Duration = Duration::from_millis(250);

/// How often a page refetches while the stream is unavailable.
pub const POLL_EVERY: Duration = Duration::from_secs(2);

/// A page's live updates: `tick` changes whenever the page should refetch; `mode` says how.
#[derive(Clone, Copy)]
pub struct LiveUpdates {
    pub tick: ReadSignal<u64>,
    pub mode: ReadSignal<LiveMode>,
}

/// Live updates for notices `wants` accepts (it may read signals untracked), refetching at most
/// every `min_gap`, or every `poll_every` while polling.
pub fn live_updates(
    wants: impl Fn(&LiveNotice) -> bool + 'static,
    min_gap: Duration,
    poll_every: Duration,
) -> LiveUpdates {
    let (tick, set_tick) = signal(0u64);
    let (mode, set_mode) = signal(LiveMode::Off);
    #[cfg(feature = "hydrate")]
    {
        let wants: std::rc::Rc<dyn Fn(&LiveNotice) -> bool> = std::rc::Rc::new(wants);
        Effect::new(move |_| {
            let machine = browser::Machine::start(wants.clone(), set_tick, set_mode, min_gap, poll_every);
            let machine = StoredValue::new_local(machine);
            on_cleanup(move || {
                machine.try_with_value(browser::Machine::stop);
            });
        });
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = (wants, set_tick, set_mode, min_gap, poll_every);
    LiveUpdates { tick, mode }
}

/// "live" or "polling", beside what updates; nothing before hydration (nothing updates then).
#[component]
pub fn LiveIndicator(mode: ReadSignal<LiveMode>) -> impl IntoView {
    let (text, title) = (
        move || match mode.get() {
            LiveMode::Off => "",
            LiveMode::Connecting => "connecting…",
            LiveMode::Live => "live",
            LiveMode::Polling => "polling",
        },
        move || match mode.get() {
            LiveMode::Live => "Updates as changes happen (Server-Sent Events).",
            LiveMode::Polling => "The live stream is unavailable: refreshing every few seconds, and trying it again.",
            _ => "",
        },
    );
    view! {
        <span
            class="live-indicator"
            class:live-off=move || mode.get() == LiveMode::Off
            class:live-on=move || mode.get() == LiveMode::Live
            class:live-polling=move || mode.get() == LiveMode::Polling
            data-testid="live-indicator"
            title=title
            aria-live="polite"
        >
            {text}
        </span>
    }
}

#[cfg(feature = "hydrate")]
mod browser {
    //! The browser side: one `EventSource` per page, its listeners, the timers, the back-off.

    use std::cell::RefCell;
    use std::rc::Rc;
    use std::time::Duration;

    use leptos::prelude::*;
    use wasm_bindgen::closure::Closure;
    use wasm_bindgen::JsCast;
    use web_sys::{EventSource, MessageEvent};

    use super::{LiveMode, STREAM_PATH};
    use crate::model::LiveNotice;

    const FIRST_RETRY: Duration = Duration::from_secs(1);
    const LONGEST_RETRY: Duration = Duration::from_secs(30);

    type Listener = Closure<dyn FnMut(web_sys::Event)>;

    /// The state of one page's live updates. Shared by its callbacks (`Rc<RefCell<_>>`); `stop`
    /// closes everything and drops the callbacks, which breaks the cycle they form with it.
    pub struct Machine {
        wants: Rc<dyn Fn(&LiveNotice) -> bool>,
        set_tick: WriteSignal<u64>,
        set_mode: WriteSignal<LiveMode>,
        min_gap: Duration,
        poll_every: Duration,
        source: Option<(EventSource, Vec<Listener>)>,
        /// The listeners of the last closed stream: `disconnect` may run inside one of them (the
        /// error listener), which must not be dropped while it runs.
        retired: Vec<Listener>,
        poll: Option<IntervalHandle>,
        retry: Option<TimeoutHandle>,
        debounce: Option<TimeoutHandle>,
        backoff: Duration,
        visibility: Option<Listener>,
        stopped: bool,
    }

    pub type Shared = Rc<RefCell<Machine>>;

    impl Machine {
        pub fn start(
            wants: Rc<dyn Fn(&LiveNotice) -> bool>,
            set_tick: WriteSignal<u64>,
            set_mode: WriteSignal<LiveMode>,
            min_gap: Duration,
            poll_every: Duration,
        ) -> Shared {
            let machine = Rc::new(RefCell::new(Machine {
                wants,
                set_tick,
                set_mode,
                min_gap,
                poll_every,
                source: None,
                retired: Vec::new(),
                poll: None,
                retry: None,
                debounce: None,
                backoff: FIRST_RETRY,
                visibility: None,
                stopped: false,
            }));
            // A hidden tab lets its stream go (browsers allow only a few connections per server
            // over HTTP/1.1) and comes back up to date when shown.
            let weak = Rc::downgrade(&machine);
            let on_visibility: Listener = Closure::new(move |_: web_sys::Event| {
                let Some(machine) = weak.upgrade() else { return };
                if hidden() {
                    disconnect(&machine);
                    stop_polling(&machine);
                } else if machine.borrow().source.is_none() {
                    bump(&machine);
                    connect(&machine);
                }
            });
            if let Some(document) = document_of_window() {
                let _ = document
                    .add_event_listener_with_callback("visibilitychange", on_visibility.as_ref().unchecked_ref());
            }
            machine.borrow_mut().visibility = Some(on_visibility);
            if !hidden() {
                connect(&machine);
            }
            machine
        }

        /// Closes the stream, clears the timers, drops the callbacks (the page is gone).
        pub fn stop(machine: &Shared) {
            disconnect(machine);
            stop_polling(machine);
            let mut m = machine.borrow_mut();
            m.stopped = true;
            m.retired.clear();
            if let Some(handle) = m.debounce.take() {
                handle.clear();
            }
            if let Some(listener) = m.visibility.take() {
                if let Some(document) = document_of_window() {
                    let _ = document
                        .remove_event_listener_with_callback("visibilitychange", listener.as_ref().unchecked_ref());
                }
            }
        }
    }

    fn document_of_window() -> Option<web_sys::Document> {
        web_sys::window().and_then(|w| w.document())
    }

    fn hidden() -> bool {
        document_of_window().is_some_and(|d| d.hidden())
    }

    /// Opens the stream and listens to it.
    fn connect(machine: &Shared) {
        if machine.borrow().stopped {
            return;
        }
        disconnect(machine);
        let source = match EventSource::new(STREAM_PATH) {
            Ok(source) => source,
            Err(_) => {
                // No EventSource in this browser: poll for good.
                start_polling(machine);
                return;
            }
        };
        if machine.borrow().poll.is_none() {
            machine.borrow().set_mode.set(LiveMode::Connecting);
        }
        let weak = Rc::downgrade(machine);
        let mut listeners = Vec::new();
        let mut listen = |name: &str, mut callback: Box<dyn FnMut(web_sys::Event)>| {
            let listener: Listener = Closure::new(move |event: web_sys::Event| callback(event));
            let _ = source.add_event_listener_with_callback(name, listener.as_ref().unchecked_ref());
            listeners.push(listener);
        };
        let w = weak.clone();
        listen(
            "open",
            Box::new(move |_| {
                let Some(machine) = w.upgrade() else { return };
                stop_polling(&machine);
                {
                    let mut m = machine.borrow_mut();
                    m.backoff = FIRST_RETRY;
                    m.set_mode.set(LiveMode::Live);
                }
                // Whatever changed while the stream was down.
                bump(&machine);
            }),
        );
        let w = weak.clone();
        listen(
            "error",
            Box::new(move |_| {
                let Some(machine) = w.upgrade() else { return };
                // Closed for good (401, 503, not a stream) or reconnecting: either way, poll
                // meanwhile and reconnect on our own schedule (with back-off), not the browser's.
                disconnect(&machine);
                start_polling(&machine);
                schedule_retry(&machine);
            }),
        );
        for name in ["delivery", "event", "webhook"] {
            let w = weak.clone();
            listen(
                name,
                Box::new(move |event| {
                    let Some(machine) = w.upgrade() else { return };
                    let notice = event
                        .dyn_ref::<MessageEvent>()
                        .and_then(|message| message.data().as_string())
                        .and_then(|data| serde_json::from_str::<LiveNotice>(&data).ok());
                    // An unreadable notice may concern the page: refetch.
                    let wanted = notice.is_none_or(|notice| (machine.borrow().wants)(&notice));
                    if wanted {
                        bump_soon(&machine);
                    }
                }),
            );
        }
        let w = weak;
        listen(
            "resync",
            Box::new(move |_| {
                if let Some(machine) = w.upgrade() {
                    bump_soon(&machine);
                }
            }),
        );
        machine.borrow_mut().source = Some((source, listeners));
    }

    /// Closes the stream, if open.
    fn disconnect(machine: &Shared) {
        let (source, retry) = {
            let mut m = machine.borrow_mut();
            (m.source.take(), m.retry.take())
        };
        if let Some(handle) = retry {
            handle.clear();
        }
        if let Some((source, listeners)) = source {
            source.close();
            // Kept until the next disconnect (a closed source calls none of them again).
            machine.borrow_mut().retired = listeners;
        }
    }

    fn schedule_retry(machine: &Shared) {
        let delay = {
            let mut m = machine.borrow_mut();
            if m.stopped {
                return;
            }
            let delay = m.backoff;
            m.backoff = (m.backoff * 2).min(LONGEST_RETRY);
            delay
        };
        let weak = Rc::downgrade(machine);
        let handle = set_timeout_with_handle(
            move || {
                if let Some(machine) = weak.upgrade() {
                    machine.borrow_mut().retry = None;
                    if !hidden() {
                        connect(&machine);
                    }
                }
            },
            delay,
        );
        machine.borrow_mut().retry = handle.ok();
    }

    fn start_polling(machine: &Shared) {
        if machine.borrow().poll.is_some() || machine.borrow().stopped || hidden() {
            return;
        }
        let every = machine.borrow().poll_every;
        let weak = Rc::downgrade(machine);
        let handle = set_interval_with_handle(
            move || {
                if let Some(machine) = weak.upgrade() {
                    bump(&machine);
                }
            },
            every,
        );
        let mut m = machine.borrow_mut();
        m.poll = handle.ok();
        m.set_mode.set(LiveMode::Polling);
    }

    fn stop_polling(machine: &Shared) {
        if let Some(handle) = machine.borrow_mut().poll.take() {
            handle.clear();
        }
    }

    /// Refetch now.
    fn bump(machine: &Shared) {
        let set_tick = machine.borrow().set_tick;
        set_tick.update(|tick| *tick += 1);
    }

    /// Refetch once `min_gap` has passed, however many notices come meanwhile.
    fn bump_soon(machine: &Shared) {
        if machine.borrow().debounce.is_some() {
            return;
        }
        let gap = machine.borrow().min_gap;
        let weak = Rc::downgrade(machine);
        let handle = set_timeout_with_handle(
            move || {
                if let Some(machine) = weak.upgrade() {
                    machine.borrow_mut().debounce = None;
                    bump(&machine);
                }
            },
            gap,
        );
        machine.borrow_mut().debounce = handle.ok();
    }
}
