# workerd's config for running the Worker locally (`npm start`): the bundled worker,
# its bindings read from the environment (the same variables as the other examples),
# and one HTTP socket. Deploying to Cloudflare uses Wrangler instead (see README.md).
using Workerd = import "/workerd/workerd.capnp";

const config :Workerd.Config = (
  services = [
    (name = "main", worker = .worker),
    # Outbound fetches: the Internet, and also private and loopback addresses, so that a
    # local S3 (the demo's, MinIO) is reachable.
    (name = "internet", network = (allow = ["public", "private", "local"])),
  ],
  # Another address: npm start -- --socket-addr http=127.0.0.1:9090
  sockets = [(name = "http", address = "127.0.0.1:8080", http = (), service = "main")],
);

const worker :Workerd.Worker = (
  modules = [(name = "worker", esModule = embed "dist/worker.js")],
  compatibilityDate = "2026-11-01",
  bindings = [
    (name = "S3_BUCKET", fromEnvironment = "S3_BUCKET"),
    (name = "AWS_REGION", fromEnvironment = "AWS_REGION"),
    (name = "S3_ENDPOINT", fromEnvironment = "S3_ENDPOINT"),
    (name = "AWS_ACCESS_KEY_ID", fromEnvironment = "AWS_ACCESS_KEY_ID"),
    (name = "AWS_SECRET_ACCESS_KEY", fromEnvironment = "AWS_SECRET_ACCESS_KEY"),
  ],
);
