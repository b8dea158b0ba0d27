// Command imagelist prints the image references the node e2e suite asks
// for, one "KEY REFERENCE" line each, as the suite computes them
// (test/utils/image, KUBE_TEST_REPO_LIST applied): the stand-ins are pushed
// under exactly these names and tags.
package main

import (
	"fmt"
	"sort"

	imageutils "k8s.io/kubernetes/test/utils/image"
)

// The images of the specs the runner selects, by the key the image
// builder knows them by.
var images = map[string]imageutils.ImageID{
	"agnhost":           imageutils.Agnhost,
	"agnhost-prev":      imageutils.AgnhostPrev,
	"busybox":           imageutils.BusyBox,
	"glibc-dns-testing": imageutils.GlibcDnsTesting,
	"ipc-utils":         imageutils.IpcUtils,
	"nginx":             imageutils.Nginx,
	"nginx-new":         imageutils.NginxNew,
	"nonewprivs":        imageutils.Nonewprivs,
	"nonroot":           imageutils.NonRoot,
	"pause":             imageutils.Pause,
}

func main() {
	keys := make([]string, 0, len(images))
	for k := range images {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Println(k, imageutils.GetE2EImage(images[k]))
	}
}
