package upload

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// Backoff between retries: firstDelay, doubling up to maxDelay.
const (
	firstDelay = 250 * time.Millisecond
	maxDelay   = 15 * time.Second
)

// retry runs f until it succeeds or fails for good (retryable says so),
// for at most RetryTimeout after the first failure. Between tries it calls
// reset (drop the broken connection) and waits with exponential backoff,
// or as long as a throttling server suggests. alive tells retryable
// whether the connection survived the failure. Giving up returns an error
// that says so and how to resume.
func (rn *run) retry(ctx context.Context, who string, f func() error, alive func() bool, reset func()) error {
	timeout := rn.opts.retryTimeout()
	start := time.Now()
	delay := firstDelay
	for {
		err := f()
		if err == nil {
			return nil
		}
		retry, err := retryable(ctx, err, alive())
		if !retry {
			return err
		}
		reset()
		wait := delay
		var te *throttleError
		if errors.As(err, &te) && te.wait > wait {
			wait = te.wait
		}
		if time.Since(start)+wait > timeout {
			hint := "a re-run resumes where this one stopped"
			if isConnectionLimit(err) {
				hint += "; the server limits connections per user: try --connections 1 or 2"
			}
			return fmt.Errorf("%w after retrying for %v (%s): %w", ErrGaveUp, time.Since(start).Round(time.Second), hint, err)
		}
		rn.log.Warn("connection failed; reconnecting", "who", who, "in", wait, "err", err)
		select {
		case <-time.After(wait):
		case <-ctx.Done():
			return ctx.Err()
		}
		delay = min(2*delay, maxDelay)
	}
}

// throttle is the run's answer to a server that asks it to slow down
// ([INUSE], [UNAVAILABLE], [THROTTLED], rate-limit texts; see classify):
// every worker pauses until the gate opens. The pause doubles with every
// request in a row (or is what the server suggests) and a message stored
// resets it. Asked to slow down for longer than RetryTimeout with nothing
// stored in between, the run gives up.
type throttle struct {
	mu     sync.Mutex
	paused time.Time     // when the latest pause began
	until  time.Time     // the gate opens then
	delay  time.Duration // the next pause
	since  time.Time     // the first request since the last success; zero: none
	// period is when the first answer naming a limit over a period came
	// since the last success; zero: none.
	period time.Time
}

// periodLimitConfirm is how long answers naming a limit over a period
// (periodLimitText) must go on, with nothing stored, before the run takes
// the period's budget as used up and stops: the same text can mean a short
// rate limit, which passes within this.
const periodLimitConfirm = 30 * time.Second

// hit records one request to slow down, for a command sent at sent; the
// error says the run gives up. Answers to commands sent before the latest
// pause began (the other messages in flight get the same answer) do not
// make the pause longer, unless the server suggests a longer one.
func (t *throttle) hit(te *throttleError, sent time.Time, timeout time.Duration) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := time.Now()
	if t.since.IsZero() {
		t.since = now
		t.delay = firstDelay
	}
	if sent.Before(t.paused) {
		if until := now.Add(te.wait); until.After(t.until) {
			t.until = until
		}
		return nil
	}
	wait := max(t.delay, te.wait)
	if periodLimitText.MatchString(describe(te.err)) && t.period.IsZero() {
		t.period = now
	}
	giveUp := now.Add(wait).Sub(t.since) > timeout || te.wait > timeout
	if !t.period.IsZero() && (giveUp || now.Sub(t.period) >= min(periodLimitConfirm, timeout/2)) {
		return fmt.Errorf("%w (the server answered %s); run the same command again later, after the provider's period (Gmail: a day) has passed: it continues where it stopped",
			ErrDailyLimit, describe(te.err))
	}
	if te.wait > timeout {
		return fmt.Errorf("%w: the server asks to wait %v, longer than --retry-timeout (%v) (its answer: %s); run the same command again later to resume",
			ErrThrottled, te.wait.Round(time.Second), timeout.Round(time.Second), describe(te.err))
	}
	if giveUp {
		return fmt.Errorf("%w: the server kept asking to slow down (for %v so far; the next pause, %v, would go past --retry-timeout %v) (last answer: %s); run the same command again later to resume",
			ErrThrottled, now.Sub(t.since).Round(100*time.Millisecond), wait.Round(100*time.Millisecond), timeout.Round(time.Second), describe(te.err))
	}
	t.paused, t.until = now, now.Add(wait)
	t.delay = min(2*t.delay, maxDelay)
	return nil
}

// ok records a message stored: the server takes mail again.
func (t *throttle) ok() {
	t.mu.Lock()
	t.since, t.delay, t.period = time.Time{}, firstDelay, time.Time{}
	t.mu.Unlock()
}

// wait blocks while the gate is closed.
func (t *throttle) wait(ctx context.Context) error {
	t.mu.Lock()
	d := time.Until(t.until)
	t.mu.Unlock()
	if d <= 0 {
		return nil
	}
	select {
	case <-time.After(d):
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
