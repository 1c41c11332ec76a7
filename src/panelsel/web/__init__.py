"""``panelsel serve``: the selection in a local web page, for convenors who never open a
terminal.

The page runs on the library's in-memory API (:mod:`panelsel.api`) and the commands'
library functions (``init``'s proposal, ``check``'s diagnosis); it has no selection logic of
its own.  It listens on the loopback interface only unless told otherwise, fetches nothing
from elsewhere (every asset is served from this package), and keeps each browser tab's work
(its uploaded files, quota file and result folders) in its own folder under the serve
folder, so that two tabs never mix their runs and the data stays on this machine.
"""
