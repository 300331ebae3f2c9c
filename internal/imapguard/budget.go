package imapguard

import (
	"time"
)

// Budget bounds the server's answer to the commands the caller is about
// to send: how long it may take, how many bytes it may be, how slowly it
// may come. A read deadline only bounds silence; a server that keeps
// sending "* OK" every 50 ms, or a 2 GB header at 1 MB/s, never meets one.
// Zero fields are no bound.
//
// The budget starts with Expect and ends when Answers tagged responses
// have been read (the commands' completions), or with the next Expect. Its
// clock restarts with every Write (so it counts from the last byte of the
// command, however long a literal took to send): Within and MinRate judge
// the server, not our upload. The clock runs while the reader is busy
// too: a slow reader spends the server's time.
type Budget struct {
	// Within is how long the answer may take to complete, from the last
	// write.
	Within time.Duration
	// MaxBytes is the most bytes the whole answer may have (untagged
	// responses included).
	MaxBytes int64
	// MinRate is the least bytes per second the answer must keep up
	// after Grace (the time a server may think before it answers): t
	// after the last write plus Grace, at least MinRate*t bytes must have
	// come. So an answer of n bytes may take Grace + n/MinRate. Grace 0
	// means DefaultGrace.
	MinRate int64
	Grace   time.Duration
	// Answers is the number of tagged responses that complete the answer
	// (the commands sent under this budget); 0 means 1.
	Answers int
}

// DefaultGrace is Budget.Grace when none is given: a round trip and the
// server's first look at the mailbox.
const DefaultGrace = time.Second

// budgetState is the active budget of a Conn (under Conn.mu).
type budgetState struct {
	b       Budget
	active  bool
	start   time.Time // Expect or the last Write
	bytes   int64     // read since Expect
	since   int64     // read since start
	answers int
	timer   *time.Timer
}

// Expect starts b, replacing the budget in force; a zero Budget ends it.
func (g *Conn) Expect(b Budget) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.clearBudgetLocked()
	if b.Within <= 0 && b.MaxBytes <= 0 && b.MinRate <= 0 {
		return
	}
	if b.Answers <= 0 {
		b.Answers = 1
	}
	if b.Grace <= 0 {
		b.Grace = DefaultGrace
	}
	timer := g.bud.timer
	g.bud = budgetState{b: b, active: true, start: time.Now(), timer: timer}
	g.scheduleLocked()
}

func (g *Conn) clearBudgetLocked() {
	if g.bud.timer != nil {
		g.bud.timer.Stop()
	}
	g.bud.active = false
}

// account counts n bytes delivered, answered when they ended a tagged
// response; it fails when the answer grows past MaxBytes.
func (g *Conn) account(n int, answered bool) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	bs := &g.bud
	if !bs.active {
		return nil
	}
	bs.bytes += int64(n)
	bs.since += int64(n)
	if bs.b.MaxBytes > 0 && bs.bytes > bs.b.MaxBytes {
		g.clearBudgetLocked()
		return &LimitError{Limit: AnswerBytes, Max: bs.b.MaxBytes, Got: bs.bytes}
	}
	if answered {
		bs.answers++
		if bs.answers >= bs.b.Answers {
			g.clearBudgetLocked()
		}
	}
	return nil
}

// wrote restarts the clock of an active budget.
func (g *Conn) wrote() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.bud.active {
		g.bud.start, g.bud.since = time.Now(), 0
		g.scheduleLocked()
	}
}

// scheduleLocked sets the timer to the moment the budget would be broken
// if no more bytes came.
func (g *Conn) scheduleLocked() {
	bs := &g.bud
	var at time.Time
	if bs.b.Within > 0 {
		at = bs.start.Add(bs.b.Within)
	}
	if bs.b.MinRate > 0 {
		if t := bs.start.Add(bs.rateDeadline()); at.IsZero() || t.Before(at) {
			at = t
		}
	}
	if at.IsZero() {
		return
	}
	d := time.Until(at)
	if bs.timer == nil {
		bs.timer = time.AfterFunc(d, g.checkBudget)
	} else {
		bs.timer.Reset(d)
	}
}

// checkBudget runs when the timer fires: it fails the connection when the
// budget is broken, else sets the timer again.
func (g *Conn) checkBudget() {
	g.mu.Lock()
	bs := &g.bud
	if !bs.active {
		g.mu.Unlock()
		return
	}
	elapsed := time.Since(bs.start)
	var err error
	switch {
	case bs.b.Within > 0 && elapsed >= bs.b.Within:
		err = &LimitError{Limit: AnswerTime, Max: int64(bs.b.Within), Got: int64(elapsed)}
	case bs.b.MinRate > 0 && elapsed >= bs.rateDeadline():
		rate := int64(float64(bs.since) / max(elapsed-bs.b.Grace, time.Millisecond).Seconds())
		err = &LimitError{Limit: AnswerRate, Max: bs.b.MinRate, Got: rate}
	}
	if err == nil {
		g.scheduleLocked()
		g.mu.Unlock()
		return
	}
	g.clearBudgetLocked()
	g.mu.Unlock()
	g.s.fail(err, true)
}

// rateDeadline is how long after start the bytes read so far keep the
// answer within MinRate.
func (bs *budgetState) rateDeadline() time.Duration {
	return bs.b.Grace + time.Duration(float64(bs.since)/float64(bs.b.MinRate)*float64(time.Second))
}
