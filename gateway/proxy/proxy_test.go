package proxy

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// An answer that broke off must not pass for a whole one, however short.
func TestReadUpToTellsABrokenOffAnswerFromAShortOne(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/broken" {
			w.Header().Set("Content-Length", "10")
			w.WriteHeader(http.StatusCreated)
			w.Write([]byte("abc"))
			w.(http.Flusher).Flush()
			conn, _, err := w.(http.Hijacker).Hijack()
			if err == nil {
				conn.Close()
			}
			return
		}
		w.Write([]byte("abc"))
	}))
	defer srv.Close()

	read := func(path string) (string, error) {
		resp, err := http.Get(srv.URL + path)
		require.NoError(t, err)
		defer resp.Body.Close()
		b := make([]byte, 64)
		n, err := readUpTo(resp.Body, b)
		return string(b[:n]), err
	}
	body, err := read("/whole")
	assert.Equal(t, "abc", body)
	assert.ErrorIs(t, err, io.EOF)

	body, err = read("/broken")
	assert.Equal(t, "abc", body)
	assert.ErrorIs(t, err, io.ErrUnexpectedEOF)
}
