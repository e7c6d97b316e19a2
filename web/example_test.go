package web_test

import (
	"fmt"

	"github.com/rs/zerolog"

	"github.com/admitgate/admit/web"
)

// The site is handed to the HTTP API as its Config.Pages; these are the
// paths it then serves beside /v1.
func ExampleSite_Paths() {
	site, err := web.New(zerolog.Nop())
	if err != nil {
		panic(err)
	}
	for _, p := range site.Paths() {
		fmt.Println(p)
	}
	// Output:
	// /
	// /admin
	// /door
	// /assets/admin.js
	// /assets/app.css
	// /assets/common.js
	// /assets/devices.js
	// /assets/door.js
	// /assets/icon.svg
	// /assets/operator.js
	// /assets/qr.js
}
