package web

import "errors"

// ErrorAnswer says how a use case's error is answered: its status, code, and a
// message that may name what the request was about (S: a service's own
// "subject" type, such as the ids in the path).
type ErrorAnswer[S any] struct {
	Err     error
	Status  int
	Code    string
	Message func(S) string
}

// Said is a Message that names nothing.
func Said[S any](msg string) func(S) string { return func(S) string { return msg } }

// AnswerFor turns err into the first answer it matches (errors.Is), about
// s; an error none matches is returned as it is, for the error handler (a
// field error's 400, or a 500 that hides its internals).
func AnswerFor[S any](answers []ErrorAnswer[S], err error, s S) error {
	for _, a := range answers {
		if errors.Is(err, a.Err) {
			return NewError(a.Status, a.Code, a.Message(s))
		}
	}
	return err
}

// On is the answer to err.
func On[S any](err error, status int, code string, message func(S) string) ErrorAnswer[S] {
	return ErrorAnswer[S]{Err: err, Status: status, Code: code, Message: message}
}
