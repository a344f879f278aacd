package tfimport

import (
	"encoding/base64"
	"reflect"
	"testing"
)

func TestDockerRunIsReadFromUserData(t *testing.T) {
	for _, c := range []struct {
		name, script string
		want         *run
	}{
		{"plain", "#!/bin/bash\ndocker run -d -p 80:8080 -e A=1 shop:1\n", &run{image: "shop:1", publish: []string{"80:8080"}, env: []string{"A=1"}}},
		{"continued lines, long flags, quotes", "docker run --detach --name 'web' \\\n  --publish 0.0.0.0:80:8080/tcp \\\n  --env \"GREETING=hello world\" --env=B=2 \\\n  --restart always ghcr.io/acme/shop@sha256:abc\n",
			&run{image: "ghcr.io/acme/shop@sha256:abc", publish: []string{"0.0.0.0:80:8080/tcp"}, env: []string{"GREETING=hello world", "B=2"}}},
		{"docker container run after other commands", "set -e; yum install -y docker && docker container run --rm -it -p 8080:80 nginx # the app\n",
			&run{image: "nginx", publish: []string{"8080:80"}}},
		{"escaped quote", `docker run -e 'Q=it'\''s' img`, &run{image: "img", env: []string{"Q=it's"}}},
		{"no container", "#!/bin/bash\nsystemctl start nginx\n", nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := dockerRun(c.script); !reflect.DeepEqual(got, c.want) {
				t.Errorf("dockerRun = %+v, want %+v", got, c.want)
			}
		})
	}
}

func TestUserDataIsDecodedWhenBase64(t *testing.T) {
	script := "#!/bin/bash\ndocker run img\n"
	if got := decodeUserData(base64.StdEncoding.EncodeToString([]byte(script))); got != script {
		t.Errorf("decoded %q", got)
	}
	if got := decodeUserData(script); got != script {
		t.Errorf("plain text changed: %q", got)
	}
}
