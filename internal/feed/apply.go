package feed

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/nhs-junction/junction/internal/fhir"
	"github.com/nhs-junction/junction/internal/hl7v2"
	"github.com/nhs-junction/junction/internal/hl7v2/fhirmap"
	"github.com/nhs-junction/junction/internal/interaction"
	"github.com/nhs-junction/junction/internal/search"
	"github.com/nhs-junction/junction/internal/searchparam"
	"github.com/nhs-junction/junction/internal/store"
)

// maxAttempts bounds how often a message is mapped and applied again when
// its transaction lost a race (a resource it read changed before the
// commit: 409/412 on an If-Match the mapping set).
const maxAttempts = 4

// apply maps and applies a parsed message. replayID, when not zero, is
// the errored row being replayed: success turns it applied, failure
// records another attempt, and nothing new is inserted.
func (f *Feed) apply(ctx context.Context, m *hl7v2.Message, rec *Record, replayID int64) Outcome {
	enhanced, accept, appAck := hl7v2.AckMode(m)
	var lastErr error
	taken := map[string]bool{}
	for attempt := 1; attempt <= maxAttempts; attempt++ {
		out, err := f.applyOnce(ctx, m, rec, replayID, enhanced, accept, appAck, taken)
		if err == nil {
			return out
		}
		lastErr = err
		if !retryable(err) {
			break
		}
	}
	return f.failed(ctx, m, rec, replayID, lastErr, enhanced, accept, appAck)
}

// retryable reports a lost race: the resources the mapping read changed
// before its transaction committed.
func retryable(err error) bool {
	if errors.Is(err, store.ErrVersionConflict) || errors.As(err, new(*raceError)) {
		return true
	}
	var fe *fhir.Error
	return errors.As(err, &fe) && (fe.Status == 409 || fe.Status == 412) && !isAmbiguous(fe)
}

// isAmbiguous tells a 412 for several matches (a data conflict, not a
// race) from an If-Match mismatch.
func isAmbiguous(fe *fhir.Error) bool {
	for _, is := range fe.Issues {
		if is.Code == fhir.IssueDuplicate || strings.Contains(is.Diagnostics, "more than one") || strings.Contains(is.Diagnostics, "matches") {
			return true
		}
	}
	return false
}

// ackFor builds the acknowledgement to send for an application outcome
// (AA, AE or AR) in the sender's mode (HL7 v2.5.1 2.9). Original mode:
// that outcome. Enhanced mode: the application acknowledgement when
// MSH-16 asks for one for this outcome, else the commit acknowledgement
// (CA once the message is stored, applied or errored; CR when it could
// not be) when MSH-15 asks for one, else nothing. Junction answers only
// after the commit, so one acknowledgement goes back on the connection:
// an application acknowledgement also says the message is stored, and a
// sender asking for both gets that one (a second, separate message would
// need a return channel the sender does not name).
func (f *Feed) ackFor(m *hl7v2.Message, code string, errs []hl7v2.AckError, enhanced bool, accept, appAck string, stored bool) []byte {
	now := f.opts.Now()
	if !enhanced {
		return hl7v2.Ack(m, code, errs, f.ackID(now), now)
	}
	if hl7v2.AckWanted(appAck, code == hl7v2.AA) {
		return hl7v2.Ack(m, code, errs, f.ackID(now), now)
	}
	if hl7v2.AckWanted(accept, stored) {
		if stored {
			return hl7v2.Ack(m, hl7v2.CA, nil, f.ackID(now), now)
		}
		return hl7v2.Ack(m, hl7v2.CR, errs, f.ackID(now), now)
	}
	return nil
}

// applyOnce is one attempt. A nil error means the outcome is final
// (applied, or a duplicate found inside the transaction); an error is
// what stopped the message.
func (f *Feed) applyOnce(ctx context.Context, m *hl7v2.Message, rec *Record, replayID int64, enhanced bool, accept, appAck string, taken map[string]bool) (Outcome, error) {
	plan, err := fhirmap.Prepare(m, f.opts.Mapping)
	if err != nil {
		return Outcome{}, err
	}
	rec.NHSNumber = plan.NHSNumber
	ex, err := f.lookup(ctx, plan)
	if err != nil {
		return Outcome{}, err
	}
	ex.Taken = taken
	res, err := plan.Build(ex)
	if err != nil {
		return Outcome{}, err
	}
	ack := f.ackFor(m, hl7v2.AA, nil, enhanced, accept, appAck, true)
	ctx = interaction.WithCommitHook(ctx, func(ctx context.Context, tx store.Tx, written []string) error {
		if err := f.checkCreated(ctx, tx, plan, res, taken); err != nil {
			return err
		}
		t, err := backendTx(tx)
		if err != nil {
			return err
		}
		now := f.opts.Now().UTC()
		if replayID != 0 {
			return markApplied(ctx, t, replayID, written, ack, now)
		}
		r := *rec
		r.Status, r.Refs, r.Ack, r.AppliedAt = StatusApplied, written, ack, now
		if err := insertKeyed(ctx, t, &r); err != nil {
			return err
		}
		rec.ID = r.ID
		return nil
	})
	req := &interaction.Request{Caller: caller(rec), Return: interaction.ReturnMinimal}
	switch {
	case res.Merge != nil:
		req.Kind, req.Type, req.Operation, req.Method = interaction.Operation, "Patient", "$merge", "POST"
		req.Body, _ = json.Marshal(map[string]any{"resourceType": "Parameters", "parameter": []any{
			map[string]any{"name": "source-patient", "valueReference": map[string]any{"reference": "Patient/" + res.Merge.SourceID}},
			map[string]any{"name": "target-patient", "valueReference": map[string]any{"reference": "Patient/" + res.Merge.TargetID}},
		}})
		req.ContentType = "application/fhir+json"
	default:
		req.Kind, req.Method, req.Body, req.ContentType = interaction.Transaction, "POST", res.Bundle, "application/fhir+json"
	}
	_, err = f.opts.Service.Do(ctx, req)
	if errors.Is(err, errDuplicate) {
		if replayID != 0 {
			return Outcome{Status: StatusApplied, Code: hl7v2.AA, Err: errors.New("already replayed")}, nil
		}
		// Another connection committed this control id first.
		if out, ok := f.duplicate(ctx, rec, nil); ok {
			return out, nil
		}
		return Outcome{}, fmt.Errorf("feed: duplicate control id but no first outcome found")
	}
	if err != nil {
		return Outcome{}, err
	}
	rec.Status, rec.Ack = StatusApplied, ack
	f.opts.Logger.Info("hl7: message applied", "type", rec.Type+"^"+rec.Trigger, "control_id", rec.ControlID, "sender", rec.SendingApp+"|"+rec.SendingFacility, "id", rec.ID)
	return Outcome{Status: StatusApplied, Code: hl7v2.AA, Ack: ack, Record: rec}, nil
}

// failed answers and stores a message that was not applied: AR for an
// unsupported message type or event, or a failure of the receiver
// (database unavailable: the sender should retry); AE with ERR for
// everything else, stored with status errored.
func (f *Feed) failed(ctx context.Context, m *hl7v2.Message, rec *Record, replayID int64, err error, enhanced bool, accept, appAck string) Outcome {
	ae, code, text := describe(err)
	errs := []hl7v2.AckError{ae}
	var me *fhirmap.Error
	reject := errors.As(err, &me) && (me.Code == fhirmap.CodeUnsupportedType || me.Code == fhirmap.CodeUnsupportedEvent)
	var fe *fhir.Error
	internal := !errors.As(err, &fe) && me == nil
	if internal {
		f.opts.Logger.Error("hl7: message not applied: receiver failure", "control_id", rec.ControlID, "err", err)
		reject = true
	}
	if reject && replayID == 0 {
		ack := f.ackFor(m, hl7v2.AR, errs, enhanced, accept, appAck, false)
		r := *rec
		r.Status, r.Error, r.ErrorCode, r.Ack = StatusRejected, text, code, ack
		if !internal {
			f.storeLog(ctx, &r)
		}
		return Outcome{Status: StatusRejected, Code: hl7v2.AR, Ack: ack, Record: &r, Err: err}
	}
	ack := f.ackFor(m, hl7v2.AE, errs, enhanced, accept, appAck, true)
	r := *rec
	r.Status, r.Error, r.ErrorCode, r.Ack = StatusErrored, text, code, ack
	werr := f.opts.Store.Write(ctx, func(tx store.Tx) error {
		t, err := backendTx(tx)
		if err != nil {
			return err
		}
		if replayID != 0 {
			return markFailed(ctx, t, replayID, text, code, ack)
		}
		return insertKeyed(ctx, t, &r)
	})
	switch {
	case errors.Is(werr, errDuplicate):
		if out, ok := f.duplicate(ctx, rec, nil); ok {
			return out
		}
	case werr != nil:
		// Not stored: the sender must send it again.
		f.opts.Logger.Error("hl7: could not store errored message", "control_id", rec.ControlID, "err", werr)
		ack = f.ackFor(m, hl7v2.AR, []hl7v2.AckError{{Code: hl7v2.ErrorInternal, Text: "the message could not be stored; send it again"}}, enhanced, accept, appAck, false)
		return Outcome{Status: StatusRejected, Code: hl7v2.AR, Ack: ack, Record: &r, Err: werr}
	}
	f.opts.Logger.Warn("hl7: message not applied", "type", rec.Type+"^"+rec.Trigger, "control_id", rec.ControlID, "code", code, "err", text)
	return Outcome{Status: StatusErrored, Code: hl7v2.AE, Ack: ack, Record: &r, Err: err}
}

// describe turns why a message was not applied into an ERR entry, the
// table 0357 code and a text for the message store. Mapping errors carry
// their location; a refused transaction is reported by its
// OperationOutcome's diagnostics (what the sender's integration team
// needs to fix the data); receiver failures say only that.
func describe(err error) (hl7v2.AckError, string, string) {
	var me *fhirmap.Error
	if errors.As(err, &me) {
		c, _ := strconv.Atoi(me.Code)
		return hl7v2.AckError{Segment: me.Segment, Sequence: me.Occurrence, Field: me.Field, Code: hl7v2.ErrorCode(c), Text: me.Text}, me.Code, me.Error()
	}
	var fe *fhir.Error
	if errors.As(err, &fe) {
		var parts []string
		for _, is := range fe.Issues {
			d := is.Diagnostics
			if len(is.Expression) > 0 {
				d += " (" + strings.Join(is.Expression, ", ") + ")"
			}
			parts = append(parts, d)
		}
		text := fmt.Sprintf("FHIR %d: %s", fe.Status, strings.Join(parts, "; "))
		code := hl7v2.ErrorDataType
		switch fe.Status {
		case 412:
			code = hl7v2.ErrorDuplicateKey
		case 404:
			code = hl7v2.ErrorUnknownKey
		case 409:
			code = hl7v2.ErrorRecordLocked
		}
		if len(text) > 900 {
			text = text[:900] + "..."
		}
		return hl7v2.AckError{Code: code, Text: text}, strconv.Itoa(int(code)), text
	}
	return hl7v2.AckError{Code: hl7v2.ErrorInternal, Text: "application internal error"}, strconv.Itoa(int(hl7v2.ErrorInternal)), "application internal error: " + err.Error()
}

// lookup finds what a plan's identifiers name in the store.
func (f *Feed) lookup(ctx context.Context, plan *fhirmap.Plan) (fhirmap.Existing, error) {
	var ex fhirmap.Existing
	var err error
	if ex.Patient, err = f.findPatient(ctx, plan.Patient, "PID", 3); err != nil {
		return ex, err
	}
	if plan.Kind == fhirmap.KindMerge {
		if ex.MergeSource, err = f.findPatient(ctx, plan.MergeFrom, "MRG", 1); err != nil {
			return ex, err
		}
	}
	if plan.Visit != nil {
		vs, err := f.search(ctx, "Encounter", plan.Visit.Token(), 2)
		if err != nil {
			return ex, err
		}
		if len(vs) > 1 {
			return ex, &fhirmap.Error{Segment: "PV1", Occurrence: 1, Field: 19, Code: fhirmap.CodeDuplicateKey, Text: fmt.Sprintf("visit number %q names %d encounters", plan.Visit.Value, len(vs))}
		}
		if len(vs) == 1 {
			ex.Encounter = found(vs[0])
		}
	}
	for _, o := range plan.Orders {
		tok := o.Value
		if o.System != "" {
			tok = o.Token()
		} else {
			tok = strings.NewReplacer(`\`, `\\`, `|`, `\|`, `,`, `\,`, `$`, `\$`).Replace(tok)
		}
		vs, err := f.search(ctx, "ServiceRequest", tok, 2)
		if err != nil {
			return ex, err
		}
		if len(vs) == 1 {
			if ex.Orders == nil {
				ex.Orders = map[string]string{}
			}
			ex.Orders[o.Value] = vs[0].ID
		}
	}
	return ex, nil
}

func found(v store.Version) *fhirmap.Found {
	return &fhirmap.Found{ID: v.ID, Version: v.Version, Body: v.Body}
}

// findPatient finds the one current patient carrying any of ids,
// leaving out patients merged into another (link replaced-by). Two
// different patients are a conflict (HL7 205).
func (f *Feed) findPatient(ctx context.Context, ids []fhirmap.Identifier, seg string, field int) (*fhirmap.Found, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	var toks []string
	for _, id := range ids {
		toks = append(toks, id.Token())
	}
	vs, err := f.search(ctx, "Patient", strings.Join(toks, ","), 20)
	if err != nil {
		return nil, err
	}
	var live []store.Version
	for _, v := range vs {
		if !replacedBy(v.Body) {
			live = append(live, v)
		}
	}
	switch len(live) {
	case 0:
		return nil, nil
	case 1:
		return found(live[0]), nil
	}
	var refs []string
	for _, v := range live {
		refs = append(refs, "Patient/"+v.ID)
	}
	return nil, &fhirmap.Error{Segment: seg, Occurrence: 1, Field: field, Code: fhirmap.CodeDuplicateKey,
		Text: "the identifiers name more than one patient (" + strings.Join(refs, ", ") + "): merge them first"}
}

func replacedBy(body []byte) bool {
	var p struct {
		Link []struct{ Type string }
	}
	_ = json.Unmarshal(body, &p)
	for _, l := range p.Link {
		if l.Type == "replaced-by" {
			return true
		}
	}
	return false
}

// search runs typ?identifier=token on the store, returning current
// versions as stored (not as any caller is shown them).
func (f *Feed) search(ctx context.Context, typ, token string, limit int) ([]store.Version, error) {
	q, err := searchparam.Parse(f.opts.Registry, typ, []searchparam.Param{{Name: "identifier", Value: token}, {Name: "_count", Value: strconv.Itoa(limit)}},
		searchparam.Options{Now: f.opts.Now()})
	if err != nil {
		return nil, err
	}
	q.Total = searchparam.TotalNone
	res, err := f.opts.Store.Search(ctx, q, search.Options{})
	if err != nil {
		return nil, err
	}
	return res.Matches, nil
}
