package main

import (
	"context"
	"log"
	"os"

	"github.com/redis/go-redis/v9"
)

func main() {
	opts, err := redis.ParseURL(os.Getenv("REDIS_URL"))
	if err != nil {
		log.Fatal(err)
	}
	rdb := redis.NewClient(opts)
	for {
		job, err := rdb.BLPop(context.Background(), 0, "jobs").Result()
		if err != nil {
			log.Fatal(err)
		}
		log.Printf("processed %v", job)
	}
}
