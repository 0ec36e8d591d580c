package chunkstore_test

import (
	"bytes"
	"fmt"
	"log"
	"os"
	"strings"

	"github.com/bulletproof-labs/wsvcb/vcb/chunkstore"
)

func ExampleChunker() {
	dir, _ := os.MkdirTemp("", "chunkstore-example-")
	defer os.RemoveAll(dir)
	st, err := chunkstore.Open(dir)
	if err != nil {
		log.Fatal(err)
	}
	disk := bytes.Repeat([]byte("A"), 3*4096+100) // three identical chunks and a short one
	ch := chunkstore.NewChunker(st, 4096)
	_, _ = ch.Write(disk)
	r, err := ch.Close()
	if err != nil {
		log.Fatal(err)
	}
	_ = st.Sync()
	fmt.Println("chunks:", len(r.Chunks), "stored:", ch.New, "deduplicated:", ch.Reused)

	txt, _ := r.MarshalText()
	fmt.Println(strings.SplitN(string(txt), "\n", 4)[:3])
	r2, err := chunkstore.ParseRecipe(bytes.NewReader(txt))
	if err != nil {
		log.Fatal(err)
	}
	var out bytes.Buffer
	if _, err := r2.WriteDisk(st, &out); err != nil {
		log.Fatal(err)
	}
	fmt.Println("identical:", bytes.Equal(out.Bytes(), disk))
	// Output:
	// chunks: 4 stored: 2 deduplicated: 2
	// [vcb-recipe 1 size 12388 chunk-size 4096]
	// identical: true
}
