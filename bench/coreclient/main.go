// coreclient calls tfhook as the autoscaler's Core does (grpc-go, a new connection per
// call unless -one-channel), for `make bench`. It sends a request serialized beforehand
// (-request FILE) and reads the answers as bytes: no generated code, only grpc-go.
//
//	coreclient -target unix:PATH -request FILE -calls N [-one-channel]   latencies (JSON)
//	coreclient -target unix:PATH -request FILE -concurrency C -seconds S [-new-connection]
//	    calls and seconds (JSON); one connection for every call unless -new-connection
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"io/ioutil"
	"net"
	"os"
	"strings"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/encoding"
)

// raw passes messages through as the bytes they are on the wire.
type raw struct{}

func (raw) Marshal(v interface{}) ([]byte, error) { return *(v.(*[]byte)), nil }
func (raw) Unmarshal(data []byte, v interface{}) error {
	p := v.(*[]byte)
	*p = append((*p)[:0], data...)
	return nil
}
func (raw) Name() string { return "proto" }

func dial(target string) (*grpc.ClientConn, error) {
	path := strings.TrimPrefix(target, "unix:")
	dialer := func(ctx context.Context, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "unix", path)
	}
	return grpc.Dial("passthrough:///tfhook", grpc.WithInsecure(), grpc.WithContextDialer(dialer))
}

// call makes one streaming call and reads every answer; it returns how many came.
func call(conn *grpc.ClientConn, method string, request []byte) (int, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	stream, err := conn.NewStream(ctx, &grpc.StreamDesc{ServerStreams: true}, method)
	if err != nil {
		return 0, err
	}
	if err := stream.SendMsg(&request); err != nil {
		return 0, err
	}
	if err := stream.CloseSend(); err != nil {
		return 0, err
	}
	answers := 0
	for {
		var answer []byte
		if err := stream.RecvMsg(&answer); err == io.EOF {
			return answers, nil
		} else if err != nil {
			return answers, err
		}
		answers++
	}
}

func oneCall(shared *grpc.ClientConn, target, method string, request []byte) error {
	conn := shared
	if conn == nil { // as the Core: a connection per call
		var err error
		if conn, err = dial(target); err != nil {
			return err
		}
		defer conn.Close()
	}
	_, err := call(conn, method, request) // a phase with no hook answers nothing
	return err
}

func main() {
	target := flag.String("target", "", "unix:PATH")
	method := flag.String("method", "/autoscaler.HandleService/PostHandle", "the RPC")
	requestFile := flag.String("request", "", "the serialized request")
	calls := flag.Int("calls", 0, "calls one after another: print each one's seconds")
	oneChannel := flag.Bool("one-channel", false, "one connection for every call")
	concurrency := flag.Int("concurrency", 1, "calls in flight at once (with -seconds)")
	seconds := flag.Float64("seconds", 0, "call for this long: print calls and seconds")
	newConnection := flag.Bool("new-connection", false,
		"with -seconds: a new connection per call, as the Core dials")
	flag.Parse()
	encoding.RegisterCodec(raw{})
	request, err := ioutil.ReadFile(*requestFile)
	if err != nil {
		fail(err)
	}
	var shared *grpc.ClientConn
	if *oneChannel || (*seconds > 0 && !*newConnection) {
		if shared, err = dial(*target); err != nil {
			fail(err)
		}
		defer shared.Close()
	}
	if *seconds > 0 {
		rate(shared, *target, *method, request, *concurrency, *seconds)
		return
	}
	samples := make([]float64, 0, *calls)
	for i := 0; i < *calls; i++ {
		started := time.Now()
		if err := oneCall(shared, *target, *method, request); err != nil {
			fail(err)
		}
		samples = append(samples, time.Since(started).Seconds())
	}
	print(samples)
}

// rate keeps `concurrency` calls in flight for `seconds`, on `conn` (nil: a new
// connection per call).
func rate(conn *grpc.ClientConn, target, method string, request []byte, concurrency int,
	seconds float64) {
	var done int64
	var mu sync.Mutex
	var wg sync.WaitGroup
	started := time.Now()
	stop := started.Add(time.Duration(seconds * float64(time.Second)))
	for w := 0; w < concurrency; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(stop) {
				if err := oneCall(conn, target, method, request); err != nil {
					fail(err)
				}
				mu.Lock()
				done++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	print(map[string]float64{"calls": float64(done), "seconds": time.Since(started).Seconds()})
}

func print(v interface{}) {
	out, _ := json.Marshal(v)
	fmt.Println(string(out))
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "coreclient:", err)
	os.Exit(1)
}
