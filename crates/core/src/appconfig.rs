//! Placeholder: Backstage `app-config.yaml` import (being written).
