// `gust serve`: wires the store, sandbox, engine, control plane, gateway and HTTP server.
#pragma once

namespace CLI {
class App;
}

namespace gust::exe {
void addServeCommand(CLI::App& app);
}
