package venue

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// readLeader reads the latest value of a redemption key from the stream's
// leader (JetStream's STREAM.MSG.GET), not by a direct get, which any
// replica may answer: right after another appliance's write a follower may
// not hold it yet, and a claim decided again on what the follower says
// would lose again (or, where it says the key has no value, try to create
// it). A key without a value is an Entry with Rev 0 and no error.
func (r *Redeemer) readLeader(ctx context.Context, key string) (Entry, error) {
	if _, err := r.link.ready(); err != nil {
		return Entry{Key: key}, err
	}
	req, err := json.Marshal(struct {
		LastFor string `json:"last_by_subj"`
	}{"$KV." + BucketRedemptions + "." + key})
	if err != nil {
		return Entry{Key: key}, err
	}
	msg, err := r.link.nc.RequestWithContext(ctx, "$JS.API.STREAM.MSG.GET."+kvStream(BucketRedemptions), req)
	if err != nil {
		return Entry{Key: key}, fmt.Errorf("venue: get %s: %w", key, classify(err))
	}
	var resp struct {
		Error   *jetstream.APIError `json:"error"`
		Message *struct {
			Seq  uint64    `json:"seq"`
			Hdrs []byte    `json:"hdrs"`
			Data []byte    `json:"data"`
			Time time.Time `json:"time"`
		} `json:"message"`
	}
	if err := json.Unmarshal(msg.Data, &resp); err != nil {
		return Entry{Key: key}, fmt.Errorf("venue: get %s: the hub's answer: %w", key, err)
	}
	if resp.Error != nil {
		if resp.Error.ErrorCode == jetstream.JSErrCodeMessageNotFound {
			return Entry{Key: key}, nil
		}
		return Entry{Key: key}, fmt.Errorf("venue: get %s: %w", key, classify(resp.Error))
	}
	m := resp.Message
	if m == nil {
		return Entry{Key: key}, fmt.Errorf("venue: get %s: %w", key, errors.New("the hub answered without a message"))
	}
	e := Entry{Key: key, Rev: m.Seq, At: m.Time}
	if len(m.Hdrs) > 0 {
		hdr, err := nats.DecodeHeadersMsg(m.Hdrs)
		if err != nil {
			return e, fmt.Errorf("venue: get %s: %w", key, err)
		}
		if op := hdr.Get("KV-Operation"); op != "" {
			return e, &DecodeError{Bucket: BucketRedemptions, Key: key, Rev: m.Seq,
				Err: fmt.Errorf("the key was deleted at the hub (%s); redemption keys are never deleted", op)}
		}
	}
	rec, err := DecodeRecord(key, m.Seq, m.Data)
	if err != nil {
		return e, err
	}
	e.Record = rec
	return e, nil
}
