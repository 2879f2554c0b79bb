"""What every external system needs, whichever it is (Rakuten RMS in `malls/rakuten/`, the warehouse next):
the error kinds a job decides by (`errors`), a request pacer shared across processes (`pacing`), encrypted
credentials (`secrets`), where credentials may be sent (`base_urls`), the retry schedule (`retry`) and the
plumbing of a stand-in server (`sandbox`)."""
