package venue_test

import (
	"fmt"
	"time"

	"github.com/rs/zerolog"

	"github.com/admitgate/admit/gate"
	"github.com/admitgate/admit/venue"
)

// How an appliance in a venue wires its changes (what cmd/admit does with
// [venue]): the applier applies the venue's changes to the store through
// the local importer; the publisher makes the appliance's own changes venue
// changes; the API and the drop folders get the publisher's view.
func ExampleStartApplier() {
	var (
		link *venue.Link // venue.Open
		ix   interface {
			gate.Index
			gate.ChangeApplier
		} // the index
		local gate.Importer // importfile.NewService(ix, ...)
	)
	app, err := venue.StartApplier(venue.ApplierConfig{Link: link, Store: ix, Importer: local,
		TempDir: "/var/lib/admit/tmp", Logger: zerolog.Nop()})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer app.Close()
	pub, err := venue.NewPublisher(venue.PublisherConfig{Link: link, Applier: app, Local: local,
		TempDir: "/var/lib/admit/tmp", Logger: zerolog.Nop()})
	if err != nil {
		fmt.Println(err)
		return
	}
	api := pub.Index(ix) // httpapi.Config.Index; pub is httpapi.Config.Importer and the drop folders' importer
	_ = api
	ready := app.CatchingUp // httpapi.Config.Serving and Ready: 503 "catching up: 812 of 2,000 changes"
	_ = ready
	// A lane's max_lag, from atomics, at every scan:
	if v, age := app.CheckLag(gate.LagPolicy{MaxLag: 10 * time.Second, Refuse: true}, time.Now()); v == gate.LagRefuse {
		fmt.Println(gate.StaleDetail(age, 10*time.Second))
	}
}
