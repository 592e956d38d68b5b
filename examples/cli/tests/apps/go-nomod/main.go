// A greeter on the standard library with no go.mod (as many small examples are):
// GET / says hello, GET /healthz says ok.
package main

import (
	"fmt"
	"log"
	"net/http"
	"os"
)

const greeting = "hello from a go program without go.mod"

func main() {
	port := os.Getenv("PORT")
	if port == "" {
		port = "8080"
	}
	http.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, greeting)
	})
	http.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "ok")
	})
	log.Printf("listening on :%s", port)
	log.Fatal(http.ListenAndServe(":"+port, nil))
}
