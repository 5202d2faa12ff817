package hooks

import (
	"context"
	"encoding/json"
	"net/http"
	"time"
)

// Feedback is the feedback endpoint's body (CDS Hooks 2.0 §Feedback).
type Feedback struct {
	Feedback []FeedbackEntry `json:"feedback"`
}

// FeedbackEntry is what the user did with one card.
type FeedbackEntry struct {
	Card                string            `json:"card"`
	Outcome             string            `json:"outcome"`
	AcceptedSuggestions []json.RawMessage `json:"acceptedSuggestions,omitempty"`
	OverrideReason      json.RawMessage   `json:"overrideReason,omitempty"`
	OutcomeTimestamp    string            `json:"outcomeTimestamp"`
}

// FeedbackRecord is one accepted feedback entry, as kept.
type FeedbackRecord struct {
	Service  string // the service id the feedback was posted to
	Entry    FeedbackEntry
	Received time.Time
	// ForwardedTo is the external service the card came from, when the
	// feedback was passed on to it; empty for Junction's own cards.
	ForwardedTo string
}

// maxFeedback bounds the feedback kept in memory (Options.Feedback is
// where it is kept durably).
const maxFeedback = 1000

// maxOrigins bounds the card ids remembered for forwarding feedback to
// the external service that made the card.
const maxOrigins = 10000

func (h *Handler) feedbackCall(w http.ResponseWriter, r *http.Request, id string) error {
	if _, ok := h.byID[id]; !ok {
		if _, agg := hookOfAggregate(id); !agg {
			return errorf(404, "no CDS service %q", clip(id))
		}
	}
	ctx, err := h.authenticate(r)
	if err != nil {
		return err
	}
	var fb Feedback
	if err := readJSON(r, &fb); err != nil {
		return err
	}
	if len(fb.Feedback) == 0 {
		return errorf(400, "feedback must hold at least one entry")
	}
	for i, f := range fb.Feedback {
		if f.Card == "" {
			return errorf(400, "feedback[%d].card is required", i)
		}
		if f.Outcome != "accepted" && f.Outcome != "overridden" {
			return errorf(400, "feedback[%d].outcome must be accepted or overridden", i)
		}
		if _, err := time.Parse(time.RFC3339Nano, f.OutcomeTimestamp); err != nil {
			return errorf(400, "feedback[%d].outcomeTimestamp must be an instant", i)
		}
		if f.Outcome == "accepted" && len(f.OverrideReason) > 0 {
			return errorf(400, "feedback[%d]: an accepted card has no overrideReason", i)
		}
		if f.Outcome == "overridden" && len(f.AcceptedSuggestions) > 0 {
			return errorf(400, "feedback[%d]: an overridden card has no acceptedSuggestions", i)
		}
	}
	for _, f := range fb.Feedback {
		rec := FeedbackRecord{Service: id, Entry: f, Received: h.opts.Now()}
		h.mu.Lock()
		origin := h.origin[f.Card]
		h.mu.Unlock()
		if origin != "" && h.opts.External != nil {
			// The card came from an external service: the feedback is
			// its to learn from (CDS Hooks 2.0 §Feedback).
			rec.ForwardedTo = origin
			h.opts.External.forwardFeedback(context.WithoutCancel(ctx), origin, f)
		}
		if h.opts.Feedback != nil {
			if err := h.opts.Feedback(ctx, rec); err != nil {
				return err
			}
		}
		h.mu.Lock()
		h.feedback = append(h.feedback, rec)
		if len(h.feedback) > maxFeedback {
			h.feedback = h.feedback[len(h.feedback)-maxFeedback:]
		}
		h.mu.Unlock()
		h.opts.Logger.Info("CDS feedback", "service", id, "card", f.Card, "outcome", f.Outcome, "at", f.OutcomeTimestamp, "forwarded_to", rec.ForwardedTo)
	}
	w.WriteHeader(http.StatusOK)
	return nil
}

// FeedbackReceived returns the latest feedback entries accepted (at most
// 1000), oldest first.
func (h *Handler) FeedbackReceived() []FeedbackRecord {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]FeedbackRecord(nil), h.feedback...)
}

// remember records which external service made which card (card uuid ->
// external service id), for forwarding feedback.
func (h *Handler) remember(origin map[string]string) {
	if len(origin) == 0 {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.origin)+len(origin) > maxOrigins {
		h.origin = map[string]string{} // the oldest go; their feedback stays here
	}
	for k, v := range origin {
		h.origin[k] = v
	}
}
