/**
 * A channel's silence timer: `onIdle` when nothing was heard for `ms`. After a busy stretch of
 * the event loop, the timer phase runs before the poll phase reads the sockets, so an expired
 * timer is checked again once what arrived meanwhile has been read (setImmediate runs after the
 * poll phase): a loaded server must not drop a live agent and declare its host lost
 * (issue 13 #16).
 */
export interface IdleTimer {
  /** Something was heard: the silence starts again, `ms` long. */
  touch(ms: number): void;
  stop(): void;
}

export function idleTimer(onIdle: () => void): IdleTimer {
  let timer: NodeJS.Timeout | undefined;
  let heardAt = 0;
  let windowMs = 0;
  let stopped = false;
  const expire = (): void => {
    setImmediate(() => {
      if (stopped) return;
      const silentMs = Date.now() - heardAt;
      if (silentMs >= windowMs) onIdle();
      else timer = setTimeout(expire, windowMs - silentMs);
    });
  };
  return {
    touch(ms) {
      heardAt = Date.now();
      windowMs = ms;
      clearTimeout(timer);
      if (!stopped) timer = setTimeout(expire, ms);
    },
    stop() {
      stopped = true;
      clearTimeout(timer);
    },
  };
}
