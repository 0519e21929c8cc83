package testenv

import (
	"context"
	"encoding/hex"
	"net"
	"strconv"
	"sync"
	"testing"

	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	"google.golang.org/grpc"
)

// Span is one span a Traces receiver got, flattened for assertions.
type Span struct {
	TraceID, SpanID, ParentID string // hex; ParentID "" for a root
	Service                   string // the resource's service.name
	Scope                     string // the instrumentation scope
	Name                      string
	Kind                      string // SPAN_KIND_SERVER, ...
	Attributes                map[string]string
	Error                     bool     // status code ERROR
	Links                     []string // trace ids of linked spans
}

// Traces is an OTLP/gRPC trace receiver (the OTLP trace service, as a
// Collector's receiver serves it) that keeps every span it is sent, for
// tests that check what the apps and their sidecars export
// (WithTraces).
type Traces struct {
	coltracepb.UnimplementedTraceServiceServer
	Addr string

	mu    sync.Mutex
	spans []Span
}

// StartTraces listens on a free local port until the test ends.
func StartTraces(t *testing.T) *Traces {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r := &Traces{Addr: lis.Addr().String()}
	srv := grpc.NewServer()
	coltracepb.RegisterTraceServiceServer(srv, r)
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(srv.Stop)
	return r
}

// Export implements the OTLP trace service.
func (r *Traces) Export(_ context.Context, req *coltracepb.ExportTraceServiceRequest) (*coltracepb.ExportTraceServiceResponse, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, rs := range req.GetResourceSpans() {
		service := attributes(rs.GetResource().GetAttributes())["service.name"]
		for _, ss := range rs.GetScopeSpans() {
			for _, s := range ss.GetSpans() {
				span := Span{TraceID: hex.EncodeToString(s.GetTraceId()), SpanID: hex.EncodeToString(s.GetSpanId()),
					ParentID: hex.EncodeToString(s.GetParentSpanId()), Service: service, Scope: ss.GetScope().GetName(),
					Name: s.GetName(), Kind: s.GetKind().String(), Attributes: attributes(s.GetAttributes()),
					Error: s.GetStatus().GetCode() == 2}
				for _, l := range s.GetLinks() {
					span.Links = append(span.Links, hex.EncodeToString(l.GetTraceId()))
				}
				r.spans = append(r.spans, span)
			}
		}
	}
	return &coltracepb.ExportTraceServiceResponse{}, nil
}

// Trace is every span received so far of trace id (hex).
func (r *Traces) Trace(id string) []Span {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []Span
	for _, s := range r.spans {
		if s.TraceID == id {
			out = append(out, s)
		}
	}
	return out
}

// Linked is every span received so far with a link to trace id.
func (r *Traces) Linked(id string) []Span {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []Span
	for _, s := range r.spans {
		for _, l := range s.Links {
			if l == id {
				out = append(out, s)
			}
		}
	}
	return out
}

func attributes(kvs []*commonpb.KeyValue) map[string]string {
	out := make(map[string]string, len(kvs))
	for _, kv := range kvs {
		v := kv.GetValue()
		switch {
		case v.GetStringValue() != "":
			out[kv.GetKey()] = v.GetStringValue()
		case v.GetIntValue() != 0:
			out[kv.GetKey()] = strconv.FormatInt(v.GetIntValue(), 10)
		default:
			out[kv.GetKey()] = v.String()
		}
	}
	return out
}
