package upload

import (
	"context"
	"fmt"

	"mailferry/formats"
	"mailferry/upload/plan"
)

// ServerPlan is where a source's folders would go on one server: the plan
// an upload would make there, and what was learned about the server's
// rules for folder names on the way.
type ServerPlan struct {
	Plan *plan.Plan
	// Target is the server, as a URL without secrets.
	Target string
	// Learned says, in plain words, what was learned about the server's
	// naming rules and how.
	Learned []string
	// Undecodable are server folders whose names could not be decoded.
	Undecodable []string
}

// PlanOn connects to opts.Target and plans the source's folders there the
// way a dry run does (the same function upload, verify and the guided run
// plan with): nothing is created, and a rule a server only shows when a
// folder is created (Courier's and Cyrus's bare NO) may still be learned
// by the upload itself, which then renames the folder and says so.
func PlanOn(ctx context.Context, r formats.Reader, opts Options) (*ServerPlan, error) {
	if opts.Target == nil {
		return nil, fmt.Errorf("%w: no server to plan for", ErrConfig)
	}
	opts.DryRun = true
	rn := newRun(opts, ModeUpload)
	ctx, end := rn.start(ctx)
	defer end()
	cn, _, err := rn.prepare(ctx, r, *opts.Target)
	if err != nil {
		return nil, err
	}
	cn.close()
	return &ServerPlan{Plan: rn.plan, Target: opts.Target.String(), Learned: rn.facts.learned, Undecodable: rn.facts.undecodable}, nil
}
