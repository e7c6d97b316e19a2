// Package venuetest runs a venue of real processes for tests: hub nodes
// (`admit hub`, one or three, clustered), their buckets made by `admit hub
// init`, and appliances (`admit serve`) with configurations written as an
// operator writes them, each reaching every hub node through a fault proxy
// of its own (venue/hubtest.Proxy) when asked. Everything listens on
// 127.0.0.1 on ports chosen at the start and kept across restarts, so a
// node or an appliance killed with SIGKILL comes back at the same address
// with its data.
//
// A test builds the binary once (testkit.BuildAdmit) and starts a venue:
//
//	bin := testkit.BuildAdmit(t, testkit.Race)
//	v := venuetest.Start(t, venuetest.Options{Bin: bin, Hubs: 3, Appliances: []string{"north", "south"}, Proxies: true})
//	north, south := v.Appliance("north"), v.Appliance("south")
//	north.Import("V-1\nV-2\n")
//	north.Scan("V-1", "north-1")             // admitted
//	south.WaitCheck("V-1", "south-1", gate.ReasonAlreadyUsed)
//	north.Cut()                              // north's link to every hub node
//	v.Leader().Kill()                        // the hub node leading the redemptions, SIGKILL
//
// Each appliance has the lanes of DefaultLanes unless Options.Config says
// otherwise: <id>-1 (offline deny), <id>-open (offline admit), <id>-exit
// (out), for the event MATCH (open now) of the provider box-office, which
// every appliance's configuration declares and publishes to the venue.
// Every process is stopped when the test ends; its output is kept and
// shown when the test fails.
package venuetest
