// A short trading-gateway client in Go with grpc-go: place, replace, cancel, stream order events
// with resume, and decode google.rpc error details. Generate the stubs into ./gen first (see
// README.md), then: go run . (GATEWAY=127.0.0.1:50051 ACCOUNT=acct-1 API_KEY=...).
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"math/big"
	"os"
	"strings"
	"sync"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	pb "example.com/trading-gateway-client/gen/trading/v1"
)

func env(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

var (
	account = env("ACCOUNT", "acct-1")
	venue   = env("VENUE", "paper")
	symbol  = env("SYMBOL", "BTC-USD")
	run     = env("RUN_ID", fmt.Sprintf("%x", time.Now().UnixMilli()))
)

// describe prints the gRPC status and each google.rpc detail (grpc-status-details-bin).
func describe(err error) string {
	st, ok := status.FromError(err)
	if !ok {
		return err.Error()
	}
	lines := []string{fmt.Sprintf("error %s: %s", strings.ToUpper(codeName(st.Code())), st.Message())}
	for _, d := range st.Details() {
		switch t := d.(type) {
		case *errdetails.BadRequest:
			for _, v := range t.GetFieldViolations() {
				lines = append(lines, fmt.Sprintf("  BadRequest field %s: %s", v.GetField(), v.GetDescription()))
			}
		case *errdetails.ErrorInfo:
			lines = append(lines, fmt.Sprintf("  ErrorInfo reason %s domain %s %v", t.GetReason(), t.GetDomain(), t.GetMetadata()))
		case *errdetails.RetryInfo:
			lines = append(lines, fmt.Sprintf("  RetryInfo retry after %ds %dns", t.GetRetryDelay().GetSeconds(), t.GetRetryDelay().GetNanos()))
		default:
			lines = append(lines, fmt.Sprintf("  %T", d))
		}
	}
	return strings.Join(lines, "\n")
}

// codeName writes codes as the other examples do (INVALID_ARGUMENT, not InvalidArgument).
func codeName(c codes.Code) string {
	var b strings.Builder
	for i, r := range c.String() {
		if i > 0 && r >= 'A' && r <= 'Z' {
			b.WriteByte('_')
		}
		b.WriteRune(r)
	}
	return b.String()
}

type events struct {
	mu   sync.Mutex
	seen []*pb.OrderEvent
	// resumed: what the second (resumed) stream delivered.
	resumed []uint64
	last    uint64
}

func (e *events) add(ev *pb.OrderEvent, gen int) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.seen = append(e.seen, ev)
	if gen == 2 {
		e.resumed = append(e.resumed, ev.GetSequence())
	}
	e.last = ev.GetSequence()
}

func (e *events) until(cond func([]*pb.OrderEvent) bool, what string) {
	for end := time.Now().Add(5 * time.Second); time.Now().Before(end); time.Sleep(20 * time.Millisecond) {
		e.mu.Lock()
		ok := cond(e.seen)
		e.mu.Unlock()
		if ok {
			return
		}
	}
	log.Fatalf("timed out waiting for %s", what)
}

// openStream reads StreamOrderEvents after `after` until ctx is canceled.
func openStream(ctx context.Context, c pb.TradingGatewayClient, after uint64, evs *events, gen int) {
	stream, err := c.StreamOrderEvents(ctx, &pb.StreamOrderEventsRequest{Account: account, AfterSequence: after})
	if err != nil {
		log.Fatal(describe(err))
	}
	go func() {
		for {
			m, err := stream.Recv()
			if err != nil {
				if !errors.Is(err, io.EOF) && status.Code(err) != codes.Canceled {
					fmt.Println(describe(err))
				}
				return
			}
			ev := m.GetEvent()
			evs.add(ev, gen)
			fmt.Printf("event #%d %s %s %s\n", ev.GetSequence(), ev.GetType(), ev.GetOrder().GetClientOrderId(), ev.GetOrder().GetStatus())
		}
	}()
}

// below is pct % below the price, in integer arithmetic on the decimal string (never floats).
func below(price string, pct int64) string {
	whole, _ := new(big.Int).SetString(strings.SplitN(price, ".", 2)[0], 10)
	whole.Mul(whole, big.NewInt(100-pct))
	return whole.Div(whole, big.NewInt(100)).String()
}

func main() {
	// grpc.Dial and WithInsecure: deprecated in recent grpc-go (NewClient and insecure.NewCredentials
	// replace them) but still there, and the only spelling Debian's grpc-go 1.33 has, which the
	// project's test builds this against. Use TLS (credentials.NewTLS) beyond loopback.
	conn, err := grpc.Dial(env("GATEWAY", "127.0.0.1:50051"), grpc.WithInsecure())
	if err != nil {
		log.Fatal(err)
	}
	defer conn.Close()
	c := pb.NewTradingGatewayClient(conn)
	ctx := context.Background()
	if key := os.Getenv("API_KEY"); key != "" {
		ctx = metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+key)
	}
	call := func() (context.Context, context.CancelFunc) { return context.WithTimeout(ctx, 5*time.Second) }

	evs := &events{}
	streamCtx, stopStream := context.WithCancel(ctx)
	openStream(streamCtx, c, 0, evs, 1)

	cctx, cancel := call()
	market, err := c.PlaceOrder(cctx, &pb.PlaceOrderRequest{ClientOrderId: "mkt-" + run, Account: account, Venue: venue, Symbol: symbol,
		Side: pb.Side_SIDE_BUY, Type: pb.OrderType_ORDER_TYPE_MARKET, TimeInForce: pb.TimeInForce_TIME_IN_FORCE_IOC, Quantity: "0.01"})
	cancel()
	if err != nil {
		log.Fatal(describe(err))
	}
	fmt.Printf("placed %s: %s at %s\n", market.GetOrder().GetClientOrderId(), market.GetOrder().GetStatus(), market.GetOrder().GetAverageFillPrice())
	ref := market.GetOrder().GetAverageFillPrice()

	cctx, cancel = call()
	limit, err := c.PlaceOrder(cctx, &pb.PlaceOrderRequest{ClientOrderId: "lmt-" + run, Account: account, Venue: venue, Symbol: symbol,
		Side: pb.Side_SIDE_BUY, Type: pb.OrderType_ORDER_TYPE_LIMIT, TimeInForce: pb.TimeInForce_TIME_IN_FORCE_GTC, Quantity: "0.01", Price: below(ref, 5)})
	cancel()
	if err != nil {
		log.Fatal(describe(err))
	}
	fmt.Printf("placed %s: %s at limit %s\n", limit.GetOrder().GetClientOrderId(), limit.GetOrder().GetStatus(), limit.GetOrder().GetPrice())

	evs.until(func(s []*pb.OrderEvent) bool {
		for _, e := range s {
			if e.GetOrder().GetClientOrderId() == "lmt-"+run {
				return true
			}
		}
		return false
	}, "the limit order's events")
	// Drop the stream and resume after the last sequence received: nothing is lost or repeated.
	stopStream()
	time.Sleep(50 * time.Millisecond) // let the old reader see its cancellation
	evs.mu.Lock()
	resumeAfter := evs.last
	evs.mu.Unlock()
	fmt.Printf("stream closed after sequence %d; resuming\n", resumeAfter)
	streamCtx, stopStream = context.WithCancel(ctx)
	defer stopStream()
	openStream(streamCtx, c, resumeAfter, evs, 2)

	cctx, cancel = call()
	rep, err := c.ReplaceOrder(cctx, &pb.ReplaceOrderRequest{OrderId: limit.GetOrder().GetOrderId(), Account: account, NewClientOrderId: "lmt2-" + run, Quantity: "0.02", Price: below(ref, 6)})
	cancel()
	if err != nil {
		log.Fatal(describe(err))
	}
	fmt.Printf("replaced %s: %s quantity %s price %s (%s)\n", rep.GetOrder().GetClientOrderId(), rep.GetOrder().GetStatus(), rep.GetOrder().GetQuantity(), rep.GetOrder().GetPrice(), rep.GetMethod())

	cctx, cancel = call()
	canceled, err := c.CancelOrder(cctx, &pb.CancelOrderRequest{OrderId: rep.GetOrder().GetOrderId(), Account: account})
	cancel()
	if err != nil {
		log.Fatal(describe(err))
	}
	fmt.Printf("canceled %s: %s\n", canceled.GetOrder().GetClientOrderId(), canceled.GetOrder().GetStatus())

	evs.until(func(s []*pb.OrderEvent) bool {
		for _, e := range s {
			if e.GetSequence() > resumeAfter && e.GetOrder().GetOrderId() == rep.GetOrder().GetOrderId() && e.GetOrder().GetStatus() == pb.OrderStatus_ORDER_STATUS_CANCELED {
				return true
			}
		}
		return false
	}, "the cancel's event after the resume")
	evs.mu.Lock()
	// Everything the resumed stream delivered: it must start right after resumeAfter, without gap or repeat.
	after := append([]uint64(nil), evs.resumed...)
	evs.mu.Unlock()
	gapless := true
	for i, s := range after {
		if s != resumeAfter+uint64(i)+1 {
			gapless = false
		}
	}
	verdict := "no gap, no repeat"
	if !gapless {
		verdict = "GAP OR REPEAT"
	}
	fmt.Printf("resumed after sequence %d: %d events, %s\n", resumeAfter, len(after), verdict)

	// A refused order: INVALID_ARGUMENT with a google.rpc.BadRequest naming the field.
	cctx, cancel = call()
	_, err = c.PlaceOrder(cctx, &pb.PlaceOrderRequest{ClientOrderId: "bad-" + run, Account: account, Venue: venue, Symbol: symbol,
		Side: pb.Side_SIDE_BUY, Type: pb.OrderType_ORDER_TYPE_LIMIT, TimeInForce: pb.TimeInForce_TIME_IN_FORCE_GTC, Quantity: "-1", Price: "1"})
	cancel()
	if err == nil {
		log.Fatal("the bad order was accepted?")
	}
	fmt.Println(describe(err))
}
