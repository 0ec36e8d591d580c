// Command demo runs the project's main job on embedded defaults: no root,
// no vCenter, no network.
package main

import "fmt"

func main() {
	fmt.Println("demo: nothing to show yet")
}
