package web

import (
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

type credentials struct {
	Email    string `json:"email"`
	Password string `json:"password"`
	Remember bool   `json:"remember"`
	Tags     []string
}

func TestDecode(t *testing.T) {
	tests := []struct {
		name, body string
		code       string
		details    any
	}{
		{"ok", `{"email":"a@b.c","password":"x","extra":1}`, "", nil},
		{"empty", ``, CodeBadRequest, "the body is empty; send a JSON object"},
		{"blank", " \n ", CodeBadRequest, "the body is empty; send a JSON object"},
		{"malformed", `{"email":`, CodeBadRequest, nil},
		{"trailing garbage", `{"email":"a"} x`, CodeBadRequest, "invalid JSON at byte 15"},
		{"an array", `[]`, CodeBadRequest, "the body must be a JSON object"},
		{"a string", `"hi"`, CodeBadRequest, "the body must be a JSON object"},
		{"wrong type", `{"email":123}`, CodeValidation, map[string]string{"email": "email must be a string"}},
		{"wrong bool", `{"remember":"yes"}`, CodeValidation, map[string]string{"remember": "remember must be a boolean"}},
		{"wrong array", `{"Tags":"x"}`, CodeValidation, map[string]string{"Tags": "Tags must be an array"}},
		{"deep nesting", strings.Repeat("[", 100_000), CodeBadRequest, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var v credentials
			err := Decode([]byte(tt.body), &v)
			if tt.code == "" {
				require.NoError(t, err)
				return
			}
			var e *Error
			require.True(t, errors.As(err, &e), "%v", err)
			assert.Equal(t, 400, e.Status)
			assert.Equal(t, tt.code, e.Code)
			if tt.details != nil {
				assert.Equal(t, tt.details, e.Details)
			}
		})
	}
}

// FuzzDecode: whatever the body, Decode returns nil or a 400 *Error, and
// never panics.
func FuzzDecode(f *testing.F) {
	for _, seed := range []string{`{"email":"a@b.c","password":"p"}`, `{`, `[]`, `null`, `{"email":1}`, `{"Tags":[1]}`,
		strings.Repeat("[", 1000), `{"email":"\ud800"}`, "{\"email\":\"\x00\"}", `{"remember":tru}`, "\xff\xfe"} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var v credentials
		err := Decode(body, &v)
		if err == nil {
			return
		}
		var e *Error
		if !errors.As(err, &e) || e.Status != 400 {
			t.Fatalf("Decode(%q) = %v: not a 400", body, err)
		}
	})
}
