package samples_test

import (
	"bytes"
	"testing"

	"github.com/admitgate/admit/internal/samples"
)

func TestSamplesAreEmbedded(t *testing.T) {
	for _, name := range []string{samples.Secutix, samples.BoxOffice, samples.Paste} {
		b, err := samples.Read(name)
		if err != nil {
			t.Fatal(err)
		}
		if len(b) == 0 || !bytes.Contains(b, []byte("\n")) {
			t.Errorf("%s: %d bytes, want lines", name, len(b))
		}
	}
}
