// The front page.
const http = require('http');

http
  .createServer((req, res) => {
    console.log(`${req.method} ${req.url}`);
    res.setHeader('content-type', 'text/html');
    res.end('<h1>hello from web</h1>\n');
  })
  .listen(process.env.PORT || 8412, () => console.log('web listening'));
