package web

import (
	"errors"
	"fmt"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestAnswerFor(t *testing.T) {
	errMissing := errors.New("missing")
	answers := []ErrorAnswer[string]{
		On(errMissing, http.StatusNotFound, CodeNotFound, func(id string) string { return "Nothing at " + id }),
	}
	var e *Error
	assert.ErrorAs(t, AnswerFor(answers, fmt.Errorf("read: %w", errMissing), "42"), &e)
	assert.Equal(t, &Error{Status: http.StatusNotFound, Code: CodeNotFound, Message: "Nothing at 42"}, e)
	other := errors.New("other")
	assert.Equal(t, other, AnswerFor(answers, other, "42"), "an unknown error goes on as it is")
	assert.Equal(t, "x", Said[int]("x")(7))
}
