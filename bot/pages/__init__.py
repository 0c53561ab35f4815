"""What a member reads on their circle's web page, and the private links that open it."""
