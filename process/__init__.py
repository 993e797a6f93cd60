"""What each long-running carelay process (gateway, stream worker, analytics) does for itself once started:
its heap (process.heap). Below the packages that run those processes; imports none of them."""
