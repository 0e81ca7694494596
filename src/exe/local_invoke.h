// `gust local invoke DIR`: one invocation on this machine's engine, without a server.
#pragma once

namespace CLI {
class App;
}

namespace gust::exe {
void addLocalCommand(CLI::App& app);
}
